"""End to end through `meltano run`: the jobs of meltano.yml against the emulator
and a real PostgreSQL server (see conftest.py for how the server is started).

- import-users-postgres: tap-algolia -> target-postgres, rows and JSON columns
- export-audiences-postgres: a table of audience events -> tap-postgres ->
  target-algolia, checked on the emulator's profiles
- the import twice: the second run starts from the bookmark in Meltano's state
  store and brings only the profiles that changed
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

IMPORT_STATE_ID = "dev:tap-algolia-to-target-postgres"
EXPORT_STATE_ID = "dev:tap-postgres-to-target-algolia"
SEGMENT_SOURCE = "meltano"  # target-algolia's default segment_source


def instant(text: str) -> datetime:
    """An RFC 3339 string (any offset, any fraction) or a naive UTC timestamp from Postgres."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def algolia_env(emulator: Any) -> dict[str, str]:
    return {"TAP_ALGOLIA_API_URL": emulator.url, "TARGET_ALGOLIA_API_URL": emulator.url}


def all_users(emulator: Any) -> dict[str, dict[str, Any]]:
    admin = emulator.admin
    users = {uid: admin.get_user(uid) for uid in emulator.emulator.store.all_user_ids()}
    assert all(users.values())
    return users


def managed(user: dict[str, Any]) -> set[str]:
    return {s["id"] for s in user.get("segments") or [] if s["source"] == SEGMENT_SOURCE}


def foreign(user: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (s["id"], s["source"]) for s in user.get("segments") or [] if s["source"] != SEGMENT_SOURCE
    }


def import_env(postgres: Any, emulator: Any, schema: str) -> dict[str, str]:
    return {
        **algolia_env(emulator),
        **postgres.env("TARGET_POSTGRES"),
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
    }


# --------------------------------------------------------------------------- #
def test_import_users_into_postgres(meltano, postgres, emulator_factory):
    emulator = emulator_factory(users=300, seed=42)
    expected = all_users(emulator)

    started = datetime.now(timezone.utc)
    meltano("run", "import-users-postgres", env=import_env(postgres, emulator, "algolia_import"))
    finished = datetime.now(timezone.utc)

    rows = postgres.query_json(
        "SELECT *, to_jsonb(affinities) AS affinities_json, to_jsonb(segments) AS segments_json"
        " FROM algolia_import.users"
    )
    assert len(rows) == len(expected) == 300
    by_id = {r["userID"]: r for r in rows}
    assert set(by_id) == set(expected)

    # Nested fields are stored as JSON: arrays of objects as jsonb[] (each element
    # a JSON document), maps as jsonb, lists of strings as text[].
    columns = {
        r["column_name"]: r["udt_name"]
        for r in postgres.query_json(
            "SELECT column_name, udt_name FROM information_schema.columns"
            " WHERE table_schema = 'algolia_import' AND table_name = 'users'"
        )
    }
    assert columns["affinities"] in ("_jsonb", "jsonb"), columns
    assert columns["segments"] in ("_jsonb", "jsonb"), columns
    assert columns["algolia_affinities_name_score"] == "jsonb", columns
    assert columns["algolia_affinities_value_score"] == "jsonb", columns

    for uid, user in expected.items():
        row = by_id[uid]
        assert row["type"] == user["type"]
        assert row["algolia_user_id"] == uid
        assert row["algolia_user_type"] == user["type"]
        assert instant(row["lastUpdatedAt"]) == instant(user["lastUpdatedAt"]), uid
        assert instant(row["algolia_last_updated"]) == instant(user["lastUpdatedAt"]), uid
        assert normal_affinities(row["affinities_json"]) == normal_affinities(user["affinities"])
        got_segments = {(s["id"], s["source"]) for s in row["segments_json"] or []}
        assert got_segments == {(s["id"], s["source"]) for s in user.get("segments") or []}, uid
        assert sorted(row["algolia_segment_ids"] or []) == sorted(
            s["id"] for s in user.get("segments") or []
        )
        affinities = user["affinities"]
        assert set(row["algolia_affinities_name"] or []) == {a["name"] for a in affinities}
        assert set(row["algolia_affinities_value"] or []) == {a["value"] for a in affinities}
        best: dict[str, float] = {}
        for a in affinities:
            best[a["name"]] = max(best.get(a["name"], a["score"]), a["score"])
        assert (row["algolia_affinities_name_score"] or {}) == best, uid

    # The bookmark is in Meltano's state store: the end of the window this run
    # read, i.e. the moment the sync started (whole seconds).
    stored = instant(str(_bookmark(meltano.state(IMPORT_STATE_ID))))
    assert started - timedelta(seconds=2) <= stored <= finished


def normal_affinities(affinities: list[dict[str, Any]] | None) -> list[tuple[Any, ...]]:
    """Affinities comparable across spellings of the same instant."""
    return sorted(
        (
            a["name"],
            a["value"],
            float(a["score"]),
            tuple(a.get("indices") or []),
            instant(a["lastUpdatedAt"]) if a.get("lastUpdatedAt") else None,
        )
        for a in affinities or []
    )


# --------------------------------------------------------------------------- #
AUDIENCE_TABLE = """
DROP TABLE IF EXISTS public.audience_events;
CREATE TABLE public.audience_events (
    event_id        bigserial PRIMARY KEY,
    algolia_user_id text,
    segment         text NOT NULL,
    event           text NOT NULL CHECK (event IN ('enter', 'exit')),
    occurred_at     timestamptz NOT NULL DEFAULT now()
);
"""


def insert_events(postgres: Any, events: list[tuple[str | None, str, str]]) -> None:
    values = ", ".join(
        "({}, {}, {})".format(
            "NULL" if uid is None else "'" + uid.replace("'", "''") + "'",
            "'" + segment + "'",
            "'" + event + "'",
        )
        for uid, segment, event in events
    )
    # Literals are quoted above; the values are the test's own.
    sql = "INSERT INTO public.audience_events (algolia_user_id, segment, event) VALUES "
    postgres.sql(sql + values)


def test_export_audiences_from_postgres(meltano, postgres, emulator_factory, tmp_path: Path):
    emulator = emulator_factory(users=300, seed=42)
    before = all_users(emulator)
    ids = sorted(before)
    # Users whose IDs need percent-encoding, plus users with other systems' segments.
    odd = [u for u in ids if not u.startswith("user-")][:3]
    with_foreign = [u for u in ids if foreign(before[u]) and u not in odd][:3]
    plain = [u for u in ids if u not in odd and u not in with_foreign][:3]
    leaver = plain[0]
    events: list[tuple[str | None, str, str]] = [
        *[(u, "high_intent_shoes", "enter") for u in odd + with_foreign + plain],
        *[(u, "vip", "enter") for u in with_foreign],  # same id as a crm/cdp "vip"
        (leaver, "winback", "enter"),
        (leaver, "winback", "exit"),
        (with_foreign[0], "high_value", "exit"),  # never ours: crm/cdp ones must stay
        ("user-999999", "vip", "enter"),  # no such profile: rejected, not created
        (None, "vip", "enter"),  # no user ID: skipped
    ]
    postgres.sql(AUDIENCE_TABLE)
    insert_events(postgres, events)
    rejects = tmp_path / "rejects.jsonl"

    env = {
        **algolia_env(emulator),
        **postgres.env("TAP_POSTGRES"),
        "TAP_POSTGRES_DATABASE": postgres.database,
        "TARGET_ALGOLIA_REJECTS_PATH": str(rejects),
    }
    meltano("run", "export-audiences-postgres", env=env)

    after = all_users(emulator)
    for uid in odd + with_foreign + plain:
        assert "high_intent_shoes" in managed(after[uid]), uid
        # Segments other systems manage are untouched, even ones with the same id.
        assert foreign(after[uid]) == foreign(before[uid]), uid
    for uid in with_foreign:
        assert "vip" in managed(after[uid])
    assert "winback" not in managed(after[leaver])
    assert "high_value" not in managed(after[with_foreign[0]])
    untouched = [u for u in ids if u not in set(odd + with_foreign + plain)]
    assert all(after[u] == before[u] for u in untouched)
    assert emulator.admin.get_user("user-999999") is None
    assert rejects.exists()
    assert "user-999999" in rejects.read_text()

    # tap-postgres keeps an event_id bookmark: the next run sends only new events.
    state = meltano.state(EXPORT_STATE_ID)
    assert int(_bookmark(state)) == len(events)
    insert_events(postgres, [(plain[1], "late_joiner", "enter")])
    meltano("run", "export-audiences-postgres", env=env)
    final = all_users(emulator)
    assert managed(final[plain[1]]) == {"high_intent_shoes", "late_joiner"}
    assert int(_bookmark(meltano.state(EXPORT_STATE_ID))) == len(events) + 1


# --------------------------------------------------------------------------- #
def test_second_import_brings_only_changed_profiles(meltano, postgres, emulator_factory):
    emulator = emulator_factory(users=300, seed=7)
    env = import_env(postgres, emulator, "algolia_incremental")
    overlap = 300  # tap-algolia's default overlap_seconds, restated for the assertion

    meltano("run", "import-users-postgres", env=env)
    first_rows = postgres.query_json(
        'SELECT "userID", _sdc_sync_started_at FROM algolia_incremental.users'
    )
    assert len(first_rows) == 300
    first_bookmark = instant(str(_bookmark(meltano.state(IMPORT_STATE_ID))))
    time.sleep(1.1)  # so that the changes below are stamped after the bookmark's second
    first_sync = {r["_sdc_sync_started_at"] for r in first_rows}
    assert len(first_sync) == 1

    # Change a few profiles: a touch, and a segment write through the public API.
    ids = sorted(all_users(emulator))
    changed = ids[10:14]
    for uid in changed[:3]:
        emulator.admin.touch(uid)
    emulator.admin.upsert_user(
        {
            **emulator.admin.get_user(changed[3]),
            "segments": [{"id": "fresh", "source": "crm"}],
            "lastUpdatedAt": datetime.now(timezone.utc).isoformat(),
        }
    )
    before_second = all_users(emulator)

    meltano("run", "import-users-postgres", env=env)

    rows = postgres.query_json(
        'SELECT "userID", "lastUpdatedAt", _sdc_sync_started_at, to_jsonb(segments) AS segs'
        " FROM algolia_incremental.users"
    )
    assert len(rows) == 300  # upserted on userID, no duplicates
    second_sync = max(r["_sdc_sync_started_at"] for r in rows)
    assert second_sync not in first_sync
    came_back = {r["userID"] for r in rows if r["_sdc_sync_started_at"] == second_sync}

    # Every changed profile came back; anything else only from the overlap window
    # before the first bookmark (re-reads that the tap makes on purpose; the
    # seeded profiles are months old, so in practice nothing else).
    assert set(changed) <= came_back
    window_start = first_bookmark - timedelta(seconds=overlap)
    in_window = {
        uid
        for uid, user in before_second.items()
        if instant(user["lastUpdatedAt"]) >= window_start and uid not in changed
    }
    assert came_back - set(changed) <= in_window, sorted(came_back - set(changed))
    assert len(came_back) < len(rows) // 10

    by_id = {r["userID"]: r for r in rows}
    for uid in changed:
        assert instant(by_id[uid]["lastUpdatedAt"]) == instant(before_second[uid]["lastUpdatedAt"])
    assert {(s["id"], s["source"]) for s in by_id[changed[3]]["segs"]} == {("fresh", "crm")}

    second_bookmark = instant(str(_bookmark(meltano.state(IMPORT_STATE_ID))))
    newest_change = max(instant(before_second[u]["lastUpdatedAt"]) for u in changed)
    assert second_bookmark >= newest_change.replace(microsecond=0)
    assert second_bookmark > first_bookmark

    # `meltano state clear` resets it: the next run is a full import again.
    meltano("state", "clear", "--force", IMPORT_STATE_ID)
    meltano("run", "import-users-postgres", env=env)
    third = postgres.query_json("SELECT _sdc_sync_started_at FROM algolia_incremental.users")
    assert len({r["_sdc_sync_started_at"] for r in third}) == 1


def _bookmark(state: dict[str, Any]) -> Any:
    """The replication_key_value of a Singer state document (first one found)."""
    stack: list[Any] = [state]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            if "replication_key_value" in node:
                return node["replication_key_value"]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError(f"no replication_key_value in state: {json.dumps(state)[:500]}")


# --------------------------------------------------------------------------- #
def test_two_applications_keep_separate_state(meltano, emulator_factory, tmp_path: Path):
    """inherit_from: one plugin instance per Algolia application, one state ID each."""
    main_app = emulator_factory(users=40, seed=1)
    eu_store = emulator_factory(users=60, seed=2)
    env = {
        "TAP_ALGOLIA_API_URL": main_app.url,
        # The instance's own variable; the parent's would not reach it, because
        # the dev environment gives the instance an api_url of its own.
        "TAP_ALGOLIA__EU_STORE_API_URL": eu_store.url,
    }

    def run(job: str, out: str) -> list[dict[str, Any]]:
        dest = tmp_path / out
        meltano("run", job, env={**env, "TARGET_JSONL_DESTINATION_PATH": str(dest)})
        path = dest / "users.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    main_rows = run("import-users", "main-1")
    eu_rows = run("import-users-eu-store", "eu-1")
    assert {r["userID"] for r in main_rows} == set(main_app.emulator.store.all_user_ids())
    assert {r["userID"] for r in eu_rows} == set(eu_store.emulator.store.all_user_ids())

    listed = meltano("state", "list").stdout.split()
    main_id, eu_id = "dev:tap-algolia-to-target-jsonl", "dev:tap-algolia--eu-store-to-target-jsonl"
    assert {main_id, eu_id} <= set(listed)
    main_bookmark = _bookmark(meltano.state(main_id))

    time.sleep(1.1)
    changed = sorted(eu_store.emulator.store.all_user_ids())[5]
    eu_store.admin.touch(changed)
    assert [r["userID"] for r in run("import-users-eu-store", "eu-2")] == [changed]
    assert _bookmark(meltano.state(main_id)) == main_bookmark  # the other app is untouched


def test_prod_environment_takes_credentials_from_env(meltano):
    env = {
        "MELTANO_ENVIRONMENT": "prod",
        "ALGOLIA_APP_ID": "PRODAPP",
        "ALGOLIA_API_KEY": "prod-key",
        "TARGET_ALGOLIA_API_KEY": "target-only-key",
        "ALGOLIA_EU_STORE_APP_ID": "EUAPP",
        "ALGOLIA_EU_STORE_API_KEY": "eu-key",
    }

    def config(plugin: str) -> dict[str, Any]:
        return json.loads(meltano("config", "--unsafe", "print", plugin, env=env).stdout)

    tap, target, eu = (
        config("tap-algolia"),
        config("target-algolia"),
        config("tap-algolia--eu-store"),
    )
    assert (tap["app_id"], tap["api_key"], tap.get("api_url")) == ("PRODAPP", "prod-key", None)
    assert (target["app_id"], target["api_key"]) == ("PRODAPP", "target-only-key")
    assert (eu["app_id"], eu["api_key"], eu["region"]) == ("EUAPP", "eu-key", "eu")
    # The api key is declared sensitive: masked unless --unsafe.
    masked = json.loads(meltano("config", "print", "tap-algolia", env=env).stdout)
    assert masked["api_key"] != "prod-key"
