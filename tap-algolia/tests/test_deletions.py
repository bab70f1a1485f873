"""How a sync tells a warehouse which profiles are gone: record versions and ACTIVATE_VERSION.

- a FULL_TABLE sync (asked for by a classic catalog's ``replication-method``
  metadata alone) stamps every RECORD with one version and sends one
  ACTIVATE_VERSION for it, after the last RECORD;
- a sync that fails on its last page, is interrupted, or skips a profile sends
  none; an incremental sync sends neither versions nor the message;
- ``activate_version: false`` turns both off; stream maps get the message under
  the stream's alias;
- a FULL_TABLE sync and a first import read future-stamped profiles; an
  incremental sync leaves them to the window holding their stamp, and no
  bookmark is ever later than the sync's start;
- ``--about`` declares the capability and the setting.

Each test runs the ``tap-algolia`` executable against the emulator.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import typing as t
from datetime import datetime, timezone
from pathlib import Path

import pytest

from algolia_testkit.tap_runs import (
    TAP,
    CliRun,
    Run,
    config_for,
    good_profile,
    interrupt_while_paging,
    serve_as_is,
)

Runner = t.Callable[..., t.Any]
FUTURE = "2031-01-01T00:00:00.000000Z"


def classic_full_table_catalog(run_cli: Runner, config: dict[str, t.Any]) -> dict[str, t.Any]:
    """The discovered catalog, selected, with only ``replication-method: FULL_TABLE`` added.

    singer-sdk's discovery writes ``replication_method: INCREMENTAL`` on the
    entry; a classic catalog edit leaves it there and sets the metadata key.
    """
    discovered = run_cli(config, "--discover")
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        assert entry["replication_method"] == "INCREMENTAL"
        for item in entry["metadata"]:
            if not item["breadcrumb"]:
                item["metadata"]["selected"] = True
                item["metadata"]["replication-method"] = "FULL_TABLE"
                assert "forced-replication-method" not in item["metadata"]
    return catalog


def kinds(run: Run) -> list[str]:
    return [m["type"] for m in run.messages]


def activations(run: Run) -> list[dict[str, t.Any]]:
    return [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_full_table_sync_versions_every_record_and_activates_after_the_last(
    run_cli: Runner, emulator_factory: Runner
) -> None:
    server = emulator_factory(users=25, seed=7)
    config = config_for(server, page_size=10)
    catalog = classic_full_table_catalog(run_cli, config)

    before = datetime.now(timezone.utc)
    done: CliRun = run_cli(config, catalog=catalog)
    after = datetime.now(timezone.utc)

    assert done.returncode == 0, done.stderr[-2000:]
    run = done.run
    assert "in full_table mode" in done.stderr
    assert len({r["userID"] for r in run.records}) == 25
    versions = {m.get("version") for m in run.messages if m["type"] == "RECORD"}
    assert len(versions) == 1
    (version,) = versions
    assert isinstance(version, int)
    assert ms(before) - 1000 <= version <= ms(after)
    assert activations(run) == [{"type": "ACTIVATE_VERSION", "stream": "users", "version": version}]
    order = kinds(run)
    last_record = max(i for i, kind in enumerate(order) if kind == "RECORD")
    assert order.index("ACTIVATE_VERSION") == last_record + 1
    assert order[-1] == "STATE"


def test_full_table_sync_that_fails_on_its_last_page_sends_no_activate_version(
    run_cli: Runner, emulator_factory: Runner
) -> None:
    server = emulator_factory(users=25, seed=7)
    config = config_for(server, page_size=10, max_retries=0)
    catalog = classic_full_table_catalog(run_cli, config)
    # Pages 1 and 2 answer; the third and last fails.
    server.admin.inject_status(500, count=5, method="GET", path_prefix="/2/users", after=2)

    done = run_cli(config, catalog=catalog)

    assert done.returncode != 0
    run = done.run
    assert len(run.records) == 20
    assert all(isinstance(r.get("version"), int) for r in run.messages if r["type"] == "RECORD")
    assert activations(run) == []


def test_interrupted_full_table_sync_sends_no_activate_version(
    run_cli: Runner, emulator_factory: Runner, tmp_path: Path
) -> None:
    server = emulator_factory(users=200, seed=3)
    config = config_for(server, page_size=10)
    catalog = classic_full_table_catalog(run_cli, config)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    server.admin.set_latency(150)  # 20 pages: about 3 s of paging to interrupt
    server.admin.reset_stats()
    command = [TAP, "--config", str(tmp_path / "config.json")]
    command += ["--catalog", str(tmp_path / "catalog.json")]

    tap = interrupt_while_paging(command, server, signal.SIGTERM)
    messages = tap.run.messages

    assert tap.returncode == 128 + signal.SIGTERM, tap.stderr[-2000:]
    assert server.admin.stats()["total"] < 20, "the sync finished before the signal"
    assert 0 < sum(m["type"] == "RECORD" for m in messages) < 200
    assert [m for m in messages if m["type"] == "ACTIVATE_VERSION"] == []


def test_incremental_syncs_send_no_version_and_no_activate_version(
    run_cli: Runner, emulator_factory: Runner
) -> None:
    server = emulator_factory(users=15, seed=5)
    config = config_for(server, page_size=10)

    first = run_cli(config)
    assert first.returncode == 0, first.stderr[-2000:]
    time.sleep(1.1)
    server.admin.touch(first.run.records[0]["userID"])
    time.sleep(1.1)  # the second window ends in a later second than the touch
    second = run_cli(config, state=first.run.final_state)
    assert second.returncode == 0, second.stderr[-2000:]

    for run in (first.run, second.run):
        assert run.records
        assert all("version" not in m for m in run.messages if m["type"] == "RECORD")
        assert activations(run) == []


def test_activate_version_false_sends_no_version_on_a_full_table_sync(
    run_cli: Runner, emulator_factory: Runner
) -> None:
    server = emulator_factory(users=12, seed=5)
    config = config_for(server, activate_version=False)

    done = run_cli(config, catalog=classic_full_table_catalog(run_cli, config))

    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.run.records) == 12
    assert all("version" not in m for m in done.run.messages if m["type"] == "RECORD")
    assert activations(done.run) == []


def test_a_skipped_profile_withholds_activate_version(
    run_cli: Runner, emulator_factory: Runner
) -> None:
    server = emulator_factory(users=12, seed=5)
    serve_as_is(server, "broken", {**good_profile("broken"), "lastUpdatedAt": "yesterday"})
    config = config_for(server)

    done = run_cli(config, catalog=classic_full_table_catalog(run_cli, config))

    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.run.records) == 12
    assert "'broken'" in done.stderr
    assert activations(done.run) == []
    assert "No ACTIVATE_VERSION: 1 profiles were skipped" in done.stderr


def test_stream_maps_get_the_message_under_the_alias(
    run_cli: Runner, emulator_factory: Runner
) -> None:
    server = emulator_factory(users=8, seed=5)
    config = config_for(server, stream_maps={"users": {"__alias__": "profiles"}})

    done = run_cli(config, catalog=classic_full_table_catalog(run_cli, config))

    assert done.returncode == 0, done.stderr[-2000:]
    records = [m for m in done.run.messages if m["type"] == "RECORD"]
    assert {m["stream"] for m in records} == {"profiles"}
    (activation,) = activations(done.run)
    assert activation["stream"] == "profiles"
    assert {m["version"] for m in records} == {activation["version"]}


@pytest.mark.parametrize("full_table", [False, True], ids=["first-import", "full-table"])
def test_first_import_and_full_table_read_future_stamped_profiles(
    full_table: bool, run_cli: Runner, emulator_factory: Runner
) -> None:
    server = emulator_factory(users=10, seed=9)
    server.admin.upsert_user({"userID": "from-the-future", "lastUpdatedAt": FUTURE})
    server.admin.touch("from-the-future", FUTURE)
    # A FULL_TABLE sync ignores start_date; a first import keeps only profiles after it.
    config = config_for(server, start_date="2000-01-01T00:00:00Z")
    catalog = classic_full_table_catalog(run_cli, config) if full_table else None
    bookmark = "2026-01-01T00:00:00.000000Z"
    state = (
        {
            "bookmarks": {
                "users": {"replication_key": "lastUpdatedAt", "replication_key_value": bookmark}
            }
        }
        if full_table
        else None
    )

    started = datetime.now(timezone.utc).replace(microsecond=0)
    done = run_cli(config, catalog=catalog, state=state)

    assert done.returncode == 0, done.stderr[-2000:]
    ids = {r["userID"] for r in done.run.records}
    assert "from-the-future" in ids
    assert len(ids) == 11
    stored = done.run.final_state["bookmarks"]["users"]["replication_key_value"]
    assert stored < FUTURE
    assert (
        started.strftime("%Y-%m-%dT%H:%M:%S")
        <= stored[:19]
        <= datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    )


def test_an_incremental_sync_leaves_a_future_stamp_to_its_window(
    run_cli: Runner, emulator_factory: Runner
) -> None:
    server = emulator_factory(users=10, seed=9)
    config = config_for(server)
    first = run_cli(config)
    assert first.returncode == 0, first.stderr[-2000:]
    server.admin.upsert_user({"userID": "from-the-future", "lastUpdatedAt": FUTURE})
    server.admin.touch("from-the-future", FUTURE)

    second = run_cli(config, state=first.run.final_state)

    assert second.returncode == 0, second.stderr[-2000:]
    assert "from-the-future" not in {r["userID"] for r in second.run.records}
    stored = second.run.final_state["bookmarks"]["users"]["replication_key_value"]
    assert stored < FUTURE
    assert stored[:19] <= datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def test_about_declares_the_capability_and_the_setting(run_cli: Runner) -> None:
    done = subprocess.run([TAP, "--about", "--format=json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    about = json.loads(done.stdout)
    assert "activate-version" in about["capabilities"]
    setting = about["settings"]["properties"]["activate_version"]
    assert setting["default"] is True
    assert "FULL_TABLE" in setting["description"]
    assert "emit_activate_version_messages" not in about["settings"]["properties"]
