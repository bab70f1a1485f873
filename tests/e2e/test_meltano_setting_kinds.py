"""Through Meltano: every kind of number and boolean setting of both plugins works
however it is set (meltano.yml, an environment variable, `.env`, `meltano config
set`), and a bad number or boolean is refused in one line naming the setting.

Meltano's own kinds broke them: `kind: decimal` set by a variable or `.env` became
a Decimal Meltano could not write to the plugin's config file (a traceback before
the plugin ran), `kind: integer` crashed on a typo, and `kind: boolean` read
`dry_run=nope` as false, so a real export ran. The settings are now `kind: string`
in Meltano and the plugins read the text (algolia_api.settings).

The tests run in a copy of this Meltano project (its own meltano.yml and .env)
that shares the installed plugins, so nothing of the repository is changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import ROOT, Meltano

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def project(meltano: Meltano, tmp_path: Path) -> Meltano:
    """A copy of the project whose plugins are the repository's installed ones."""
    copy = tmp_path / "project"
    copy.mkdir()
    text = (ROOT / "meltano.yml").read_text()
    # The same pip_url once expanded, so Meltano sees the installed plugins as current.
    text = text.replace("${MELTANO_PROJECT_ROOT}/", f"{ROOT}/")
    (copy / "meltano.yml").write_text(text)
    (copy / ".meltano").symlink_to(ROOT / ".meltano")
    return Meltano(exe=meltano.exe, base_env=meltano.base_env, logdir=meltano.logdir, cwd=copy)


def set_in_meltano_yml(project: Meltano, plugin_type: str, plugin: str, **config: Any) -> None:
    path = project.cwd / "meltano.yml"
    data = yaml.safe_load(path.read_text())
    (dev,) = [e for e in data["environments"] if e["name"] == "dev"]
    entries = dev["config"]["plugins"].setdefault(plugin_type, [])
    entry = next((e for e in entries if e["name"] == plugin), None)
    if entry is None:
        entry = {"name": plugin, "config": {}}
        entries.append(entry)
    entry.setdefault("config", {}).update(config)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def dumped_config(project: Meltano, plugin: str, env: dict[str, str]) -> dict[str, Any]:
    out = project("invoke", "--dump=config", plugin, env=env)
    return dict(json.loads(out.stdout[out.stdout.index("{") :]))


def lines_with(text: str, words: str) -> list[str]:
    return [line for line in text.splitlines() if words in line]


def test_number_and_boolean_settings_work_however_they_are_set(
    project: Meltano, emulator_factory, tmp_path: Path
) -> None:
    emulator = emulator_factory(users=5, seed=7)
    users = sorted(emulator.emulator.store.all_user_ids())[:3]
    events = tmp_path / "events.jsonl"
    events.write_text(
        "".join(
            json.dumps({"algolia_user_id": u, "segment": "vip", "event": "enter"}) + "\n"
            for u in users
        )
    )
    # 1. meltano.yml: YAML integers, numbers and booleans, as a user writes them.
    set_in_meltano_yml(
        project, "loaders", "target-algolia", concurrency=3, reread_before_write=True
    )
    set_in_meltano_yml(project, "extractors", "tap-algolia", page_size=2, flattening_enabled=False)
    set_in_meltano_yml(project, "loaders", "target-algolia--erasure", max_wait_seconds=2.5)
    # 2. Environment variables: the three the issue found crashing, an integer, a boolean.
    env = {
        "TARGET_ALGOLIA_API_URL": emulator.url,
        "TARGET_ALGOLIA__MIRROR_API_URL": emulator.url,
        "TAP_ALGOLIA_API_URL": emulator.url,
        "TAP_AUDIENCE_EVENTS_PATH": str(events),
        "TARGET_ALGOLIA_MAX_WAIT_SECONDS": "5",
        "TARGET_ALGOLIA__MIRROR_MAX_REJECTED_FRACTION": "1",
        # The mass-removal override spelled as docs/meltano.md and the target README say.
        "TARGET_ALGOLIA__MIRROR_MIRROR_MAX_REMOVAL_FRACTION": "1",
        "TAP_ALGOLIA_OVERLAP_SECONDS": "60",
        "TARGET_ALGOLIA__ERASURE_DRY_RUN": "on",
    }
    # 3. .env, written by hand: the dry run as a word, an integer, a number.
    (project.cwd / ".env").write_text(
        "TARGET_ALGOLIA_DRY_RUN=yes\nTAP_ALGOLIA_REQUEST_TIMEOUT=20\n"
        "TARGET_ALGOLIA__MIRROR_MAX_WAIT_SECONDS=0.5\n"
    )
    # 4. meltano config set: the number that broke every later run, into .env;
    #    a boolean and an integer into meltano.yml.
    project("config", "set", "--store=dotenv", "target-algolia", "max_rejected_fraction", "0.9")
    project("config", "set", "target-algolia--mirror", "mirror_allow_empty_audience", "false")
    project("config", "set", "target-algolia--erasure", "erasure_max_profiles", "7")

    # Meltano hands each over (no Decimal crash), numbers and booleans set as
    # text stay text for the plugin to read.
    target = dumped_config(project, "target-algolia", env)
    assert target["concurrency"] == 3
    assert target["reread_before_write"] is True
    assert target["max_wait_seconds"] == "5"
    assert target["dry_run"] == "yes"
    assert target["max_rejected_fraction"] == "0.9"
    mirror = dumped_config(project, "target-algolia--mirror", env)
    assert mirror["mirror_max_removal_fraction"] == "1"
    assert mirror["max_rejected_fraction"] == "1"
    assert mirror["mirror_allow_empty_audience"] == "false"
    assert mirror["max_wait_seconds"] == "0.5"
    erasure = dumped_config(project, "target-algolia--erasure", env)
    assert erasure["max_wait_seconds"] == 2.5
    assert erasure["erasure_max_profiles"] == "7"
    assert erasure["dry_run"] == "on"
    tap = dumped_config(project, "tap-algolia", env)
    assert tap["page_size"] == 2
    assert tap["overlap_seconds"] == "60"
    assert tap["request_timeout"] == "20"
    assert tap["flattening_enabled"] is False

    # The target reads them from its config file: "yes" is a dry run, nothing is written.
    run = project("run", "tap-audience-events", "target-algolia", env=env)
    log = run.stdout + run.stderr
    assert "(dry run)" in log
    assert emulator.admin.stats()["userPuts"] == {}
    assert emulator.admin.stats()["byRoute"].get("PUT /2/users/{userID}/segments") is None
    # ...and from TARGET_ALGOLIA_* variables (`meltano test`: --config ENV).
    assert "OK: " in project("test", "target-algolia", env=env).stderr
    # The mirror instance's numbers, set by variables and config set, in its config file.
    assert "OK: " in project("invoke", "target-algolia--mirror", "--test", env=env).stderr
    erasure_env = {**env, "TARGET_ALGOLIA__ERASURE_API_URL": emulator.url}
    assert "OK: " in project("invoke", "target-algolia--erasure", "--test", env=erasure_env).stderr

    # The tap reads page_size 2 from meltano.yml: 5 profiles take 3 pages.
    emulator.admin.reset_stats()
    sync = project("invoke", "tap-algolia", env=env)
    records = [json.loads(x) for x in sync.stdout.splitlines() if '"RECORD"' in x]
    assert len(records) == 5
    assert emulator.admin.stats()["byRoute"]["GET /2/users"] == 3


def test_a_bad_number_or_boolean_is_refused_in_one_line_naming_it(
    project: Meltano, emulator_factory
) -> None:
    emulator = emulator_factory(users=5, seed=7)
    env = {"TARGET_ALGOLIA_API_URL": emulator.url, "TAP_ALGOLIA_API_URL": emulator.url}

    # Config-file path (meltano invoke / run): the typo'd dry run and a bad number.
    bad = {"TARGET_ALGOLIA_DRY_RUN": "nope", "TARGET_ALGOLIA_MAX_WAIT_SECONDS": "soon"}
    target = project("invoke", "target-algolia", "--test", env={**env, **bad}, check=False)
    assert target.returncode != 0
    log = target.stdout + target.stderr
    assert "Traceback" not in log
    (line,) = lines_with(log, "Invalid configuration")
    assert "dry_run must be true or false" in line
    assert "'nope'" in line
    assert "max_wait_seconds must be a number such as 0.5, not 'soon'" in line

    # --config ENV path (meltano test): singer-sdk would read "nope" as false.
    test = project(
        "test", "target-algolia", env={**env, "TARGET_ALGOLIA_DRY_RUN": "nope"}, check=False
    )
    assert test.returncode != 0
    (line,) = lines_with(test.stdout + test.stderr, "Invalid configuration")
    assert "dry_run must be true or false" in line

    # The tap: an integer that is not one, set in .env.
    (project.cwd / ".env").write_text("TAP_ALGOLIA_PAGE_SIZE=1.5\n")
    tap = project("invoke", "tap-algolia", env=env, check=False)
    assert tap.returncode != 0
    assert tap.stdout == ""
    log = tap.stdout + tap.stderr
    assert "Traceback" not in log
    (line,) = lines_with(log, "Invalid configuration")
    assert "page_size must be a whole number such as 100, not '1.5'" in line
    assert emulator.admin.stats()["total"] == 0  # refused before any API call
