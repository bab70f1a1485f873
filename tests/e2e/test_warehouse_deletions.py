"""Profiles deleted in Algolia reach the warehouse, end to end through `meltano run`.

The jobs of meltano.yml against the emulator and a real PostgreSQL server,
with MeltanoLabs target-postgres as meltano.yml installs it (load_method
upsert, add_record_metadata, activate_version):

- a profile deleted between two full syncs (import-users-postgres-full) ends
  with ``_sdc_deleted_at`` set (soft delete, the default), or without a row
  (``hard_delete``); every other row keeps its data and stays live;
- a full sync that fails on its last page marks nothing; the next complete one
  marks what is gone;
- hourly incremental syncs (import-users-postgres) between two full ones, into
  the same table: a profile created and deleted in between ends marked deleted,
  a profile the incremental sync updated stays live with its new data;
- a deleted profile that comes back (same userID) is live again from the
  sync that brings it, and stays live through the next full sync;
- target-jsonl receives the same full sync: it ignores the message, with a
  warning, and writes every record.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FULL_JOB = "import-users-postgres-full"
INCREMENTAL_JOB = "import-users-postgres"
METADATA = (
    "_sdc_extracted_at",
    "_sdc_received_at",
    "_sdc_batched_at",
    "_sdc_sequence",
    "_sdc_sync_started_at",
)
VERSIONING = ("_sdc_deleted_at", "_sdc_table_version")


def env_for(postgres: Any, emulator: Any, schema: str, **extra: str) -> dict[str, str]:
    return {
        "TAP_ALGOLIA_API_URL": emulator.url,
        **postgres.env("TARGET_POSTGRES"),
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        **extra,
    }


def rows(postgres: Any, schema: str) -> dict[str, dict[str, Any]]:
    # Test-owned schema names only, never outside input.
    found = postgres.query_json(f'SELECT * FROM {schema}.users ORDER BY "userID"')  # noqa: S608
    return {row["userID"]: row for row in found}


def data(row: dict[str, Any]) -> dict[str, Any]:
    """A row without the columns each load rewrites (load times, version, deletion)."""
    return {k: v for k, v in row.items() if k not in METADATA + VERSIONING}


def live(table: dict[str, dict[str, Any]]) -> set[str]:
    return {uid for uid, row in table.items() if row["_sdc_deleted_at"] is None}


def all_ids(emulator: Any) -> set[str]:
    return set(emulator.emulator.store.all_user_ids())


# --------------------------------------------------------------------------- #
def test_a_profile_deleted_between_two_full_syncs_is_soft_deleted(
    meltano: Any, postgres: Any, emulator_factory: Any
) -> None:
    emulator = emulator_factory(users=30, seed=11)
    env = env_for(postgres, emulator, "deletions_soft")

    meltano("run", FULL_JOB, env=env)
    first = rows(postgres, "deletions_soft")
    assert set(first) == all_ids(emulator)
    assert live(first) == set(first)
    (first_version,) = {row["_sdc_table_version"] for row in first.values()}

    gone = sorted(first)[3:5]
    for uid in gone:
        assert emulator.admin.delete_user(uid)
    meltano("run", FULL_JOB, env=env)
    second = rows(postgres, "deletions_soft")

    assert set(second) == set(first)  # soft delete: every row is still there
    assert live(second) == set(first) - set(gone)
    for uid in gone:
        assert second[uid]["_sdc_deleted_at"] is not None
        assert second[uid]["_sdc_table_version"] == first_version
        assert data(second[uid]) == data(first[uid])
    versions = {second[uid]["_sdc_table_version"] for uid in live(second)}
    assert len(versions) == 1
    assert versions.pop() > first_version
    for uid in live(second):
        assert data(second[uid]) == data(first[uid]), uid


def test_a_profile_deleted_between_two_full_syncs_is_gone_with_hard_delete(
    meltano: Any, postgres: Any, emulator_factory: Any
) -> None:
    emulator = emulator_factory(users=30, seed=12)
    env = env_for(postgres, emulator, "deletions_hard", TARGET_POSTGRES_HARD_DELETE="true")

    meltano("run", FULL_JOB, env=env)
    first = rows(postgres, "deletions_hard")
    gone = sorted(first)[:2]
    for uid in gone:
        assert emulator.admin.delete_user(uid)
    meltano("run", FULL_JOB, env=env)
    second = rows(postgres, "deletions_hard")

    assert set(second) == set(first) - set(gone)
    assert live(second) == set(second)
    for uid, row in second.items():
        assert data(row) == data(first[uid]), uid


def test_a_full_sync_that_fails_on_its_last_page_marks_nothing(
    meltano: Any, postgres: Any, emulator_factory: Any
) -> None:
    emulator = emulator_factory(users=30, seed=13)
    env = env_for(
        postgres,
        emulator,
        "deletions_failed",
        TAP_ALGOLIA_PAGE_SIZE="10",
        TAP_ALGOLIA_MAX_RETRIES="0",
    )
    meltano("run", FULL_JOB, env=env)
    first = rows(postgres, "deletions_failed")
    gone = sorted(first)[-3:]  # on the last page
    for uid in gone:
        assert emulator.admin.delete_user(uid)

    # 27 profiles, pages of 10: the first two answer, the third fails.
    emulator.admin.inject_status(500, count=5, method="GET", path_prefix="/2/users", after=2)
    failed = meltano("run", FULL_JOB, env=env, check=False)
    assert failed.returncode != 0, failed.stderr[-3000:]
    emulator.admin.clear_faults()

    assert "ACTIVATE_VERSION" not in failed.stderr.replace("No ACTIVATE_VERSION", "")
    after_failure = rows(postgres, "deletions_failed")
    assert set(after_failure) == set(first)
    assert live(after_failure) == set(first)  # nothing marked, not even the 3 gone
    for uid, row in after_failure.items():
        assert data(row) == data(first[uid]), uid

    meltano("run", FULL_JOB, env=env)
    recovered = rows(postgres, "deletions_failed")
    assert live(recovered) == set(first) - set(gone)


def test_hourly_incrementals_and_a_daily_full_sync_share_one_table(
    meltano: Any, postgres: Any, emulator_factory: Any
) -> None:
    emulator = emulator_factory(users=20, seed=14)
    env = env_for(postgres, emulator, "deletions_mixed")

    meltano("run", FULL_JOB, env=env)
    first = rows(postgres, "deletions_mixed")
    assert len(first) == 20

    # Hour 1: a new profile appears and the incremental sync brings it.
    emulator.admin.upsert_user(
        {
            "userID": "short-lived",
            "type": "basic",
            "lastUpdatedAt": "2026-01-01T00:00:00Z",
            "affinities": [],
            "segments": [],
        }
    )
    emulator.admin.touch("short-lived")
    meltano("run", INCREMENTAL_JOB, env=env)
    hour_one = rows(postgres, "deletions_mixed")
    assert "short-lived" in live(hour_one)
    assert hour_one["short-lived"]["_sdc_table_version"] is None

    # Hour 2: an existing profile changes; the next incremental sync brings it.
    time.sleep(1.1)  # after the first incremental sync's window (whole seconds)
    changed = sorted(first)[0]
    emulator.admin.upsert_user({**emulator.admin.get_user(changed), "type": "advanced"})
    emulator.admin.touch(changed)
    time.sleep(1.1)
    meltano("run", INCREMENTAL_JOB, env=env)
    hour_two = rows(postgres, "deletions_mixed")
    assert hour_two[changed]["type"] == "advanced"
    assert hour_two[changed]["_sdc_table_version"] is None

    # Then the new profile is deleted, and the daily full sync runs.
    assert emulator.admin.delete_user("short-lived")
    meltano("run", FULL_JOB, env=env)
    day_two = rows(postgres, "deletions_mixed")

    assert set(day_two) == set(first) | {"short-lived"}
    assert live(day_two) == set(first)
    assert day_two["short-lived"]["_sdc_deleted_at"] is not None
    assert day_two[changed]["type"] == "advanced"
    for uid in set(first) - {changed}:
        assert data(day_two[uid]) == data(first[uid]), uid
    # Both plugins keep their own state: the incremental bookmark is untouched.
    incremental_state = meltano.state("dev:tap-algolia-to-target-postgres")
    assert incremental_state["singer_state"]["bookmarks"]["users"]["replication_key_value"]


def test_a_deleted_profile_that_returns_is_live_again(
    meltano: Any, postgres: Any, emulator_factory: Any
) -> None:
    emulator = emulator_factory(users=10, seed=15)
    env = env_for(postgres, emulator, "deletions_return")
    meltano("run", FULL_JOB, env=env)
    first = rows(postgres, "deletions_return")
    back = sorted(first)[0]
    profile = emulator.admin.get_user(back)
    assert emulator.admin.delete_user(back)
    meltano("run", FULL_JOB, env=env)
    assert back not in live(rows(postgres, "deletions_return"))

    # The same userID comes back; the hourly incremental sync brings it.
    emulator.admin.upsert_user({**profile, "type": "advanced"})
    emulator.admin.touch(back)
    meltano("run", INCREMENTAL_JOB, env=env)
    hourly = rows(postgres, "deletions_return")
    assert back in live(hourly)
    assert hourly[back]["type"] == "advanced"

    # The next full sync keeps it live, with every other profile, at its version.
    meltano("run", FULL_JOB, env=env)
    final = rows(postgres, "deletions_return")
    assert live(final) == set(first)
    assert final[back]["type"] == "advanced"
    assert len({row["_sdc_table_version"] for row in final.values()}) == 1


def test_target_jsonl_ignores_the_message_and_keeps_every_record(
    meltano: Any, emulator_factory: Any, tmp_path: Path
) -> None:
    emulator = emulator_factory(users=12, seed=15)
    out = tmp_path / "jsonl"
    out.mkdir()
    env = {"TAP_ALGOLIA_API_URL": emulator.url, "TARGET_JSONL_DESTINATION_PATH": str(out)}

    done = meltano("run", "tap-algolia--full", "target-jsonl", env=env)

    lines = (out / "users.jsonl").read_text().splitlines()
    assert {json.loads(line)["userID"] for line in lines} == all_ids(emulator)
    assert "Unknown message type ACTIVATE_VERSION" in done.stderr + done.stdout
