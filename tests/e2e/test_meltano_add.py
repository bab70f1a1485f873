"""Both plugins added to a new Meltano project outside this repository, as the
README's "Add to your Meltano project" tells a user to.

`meltano init` in a temporary directory; `meltano add --plugin-type ... --from-ref`
with the Hub definition files of meltano-hub/, whose pip_url is pointed at this
checkout as a git URL with ``#subdirectory=`` (a user keeps the published
pip_url, or writes ``git+https://...`` the same way); credentials and the
emulator's URL only from environment variables; `meltano test target-algolia`
(the Hub definition's preflight command); then an import
(``meltano run tap-algolia target-jsonl``) and an export from a JSON-lines file
through target-algolia, both checked on the emulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from algolia_emulator import DEFAULT_API_KEY, DEFAULT_APP_ID

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
HUB = {
    "tap-algolia": ROOT / "meltano-hub/extractors/tap-algolia/singer-algolia.yml",
    "target-algolia": ROOT / "meltano-hub/loaders/target-algolia/singer-algolia.yml",
}


def ref_file(directory: Path, definition: dict[str, Any]) -> Path:
    path = directory / f"{definition['name']}.yml"
    path.write_text(yaml.safe_dump(definition, sort_keys=False))
    return path


def repo_definition(plugin_type: str, name: str, as_name: str) -> dict[str, Any]:
    """A third-party plugin's definition from this repository's meltano.yml (no Hub here)."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (entry,) = [p for p in project["plugins"][plugin_type] if p["name"] == name]
    return {**{k: v for k, v in entry.items() if k not in ("config", "name")}, "name": as_name}


def segments(user: dict[str, Any] | None, source: str) -> set[str]:
    assert user is not None
    return {s["id"] for s in user.get("segments") or [] if s["source"] == source}


def test_add_both_plugins_to_a_new_project(new_meltano_project, repo_git_url, emulator_factory):
    meltano = new_meltano_project
    project = meltano.cwd
    refs = project.parent / "refs"
    refs.mkdir()

    # 1. The documented way: the Hub definitions, pip_url pointed at this checkout.
    for plugin, plugin_type in (("tap-algolia", "extractor"), ("target-algolia", "loader")):
        definition = yaml.safe_load(HUB[plugin].read_text())
        definition["pip_url"] = f"{repo_git_url}#subdirectory={plugin}"
        ref = ref_file(refs, definition)
        meltano("add", "--plugin-type", plugin_type, plugin, "--from-ref", str(ref))
    # A file tap and target-jsonl, declared in full as this repository does.
    for plugin_type, name, as_name in (
        ("loaders", "target-jsonl", "target-jsonl"),
        ("extractors", "tap-audience-events", "tap-jsonl"),
    ):
        ref = ref_file(refs, repo_definition(plugin_type, name, as_name))
        meltano("add", "--plugin-type", plugin_type[:-1], as_name, "--from-ref", str(ref))

    added = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]
    for plugin, kind in (("tap-algolia", "extractors"), ("target-algolia", "loaders")):
        (entry,) = [p for p in added[kind] if p["name"] == plugin]
        hub = yaml.safe_load(HUB[plugin].read_text())
        assert entry["settings"] == hub["settings"]
        assert entry["pip_url"].endswith(f"#subdirectory={plugin}")
        exe = project / ".meltano" / kind / plugin / "venv" / "bin" / plugin
        assert exe.is_file(), f"{plugin} not installed"
    assert set(added) == {"extractors", "loaders"}  # nothing else was added on the way

    # 2. Configuration from the environment only: nothing secret in meltano.yml.
    emulator = emulator_factory(users=120, seed=11)
    out = project / "output"
    env = {
        "TAP_ALGOLIA_APP_ID": DEFAULT_APP_ID,
        "TAP_ALGOLIA_API_KEY": DEFAULT_API_KEY,
        "TAP_ALGOLIA_API_URL": emulator.url,
        "TARGET_ALGOLIA_APP_ID": DEFAULT_APP_ID,
        "TARGET_ALGOLIA_API_KEY": DEFAULT_API_KEY,
        "TARGET_ALGOLIA_API_URL": emulator.url,
        "TARGET_JSONL_DESTINATION_PATH": str(out),
    }
    assert DEFAULT_API_KEY not in (project / "meltano.yml").read_text()

    # The Hub definition's `test` command runs the read-only preflight (--config ENV).
    checked = meltano("test", "target-algolia", env=env)
    assert "OK: " in checked.stdout + checked.stderr
    assert "100 profiles read" in checked.stdout + checked.stderr

    # 3. Import: every profile of the application lands in users.jsonl.
    meltano("run", "tap-algolia", "target-jsonl", env=env)
    rows = [json.loads(line) for line in (out / "users.jsonl").read_text().splitlines()]
    expected = set(emulator.emulator.store.all_user_ids())
    assert len(rows) == len(expected) == 120
    assert {r["userID"] for r in rows} == expected

    # 4. Export: audience events from a file become segments on the profiles.
    ids = sorted(expected)
    enter, leave, untouched = ids[:5], ids[5], ids[6:]
    before = {uid: emulator.admin.get_user(uid) for uid in ids}
    events = [
        *({"algolia_user_id": u, "segment": "new_project", "event": "enter"} for u in enter),
        {"algolia_user_id": leave, "segment": "new_project", "event": "enter"},
        {"algolia_user_id": leave, "segment": "new_project", "event": "exit"},
    ]
    events_file = project / "audience_events.jsonl"
    events_file.write_text("".join(json.dumps(e) + "\n" for e in events))
    meltano(
        "run",
        "tap-jsonl",
        "target-algolia",
        env={**env, "TAP_JSONL_PATH": str(events_file), "TAP_JSONL_STREAM_NAME": "audience"},
    )
    for uid in enter:
        assert segments(emulator.admin.get_user(uid), "meltano") == {"new_project"}, uid
    assert "new_project" not in segments(emulator.admin.get_user(leave), "meltano")
    assert all(emulator.admin.get_user(u) == before[u] for u in untouched)
