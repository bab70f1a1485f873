"""Scenarios against the emulator over real HTTP.

Expected values come from the emulator's own state (admin API) or are
written out by hand; nothing here is computed with the tap's code.
"""

from __future__ import annotations

import math
import time
import typing as t
from datetime import datetime, timezone

import pytest

import tap_algolia.client
from algolia_emulator.timestamps import parse_rfc3339_ns
from tap_algolia.streams import UsersStream

Runner = t.Callable[..., t.Any]
UTC = timezone.utc


def instant_ns(text: str) -> int:
    """The emulator's parser: an independent reading of any RFC 3339 spelling."""
    return parse_rfc3339_ns(text)


def micro(ns: int) -> int:
    return ns // 1000


def fix_now(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(UsersStream, "now", lambda _stream: moment)


def user(user_id: str, last_updated_at: str, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "userID": user_id,
        "type": "basic",
        "affinities": [],
        "lastUpdatedAt": last_updated_at,
        **extra,
    }


def into_next_second() -> None:
    """Window ends are whole seconds: an update is readable once its second is over."""
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.02)


def only(server: t.Any, users: list[dict[str, t.Any]]) -> None:
    server.admin.delete_all_users()
    for profile in users:
        server.admin.upsert_user(profile)


def test_full_import_is_every_profile_once_and_ends_with_a_plain_bookmark(
    emulator_factory: Runner, run_tap: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=30, seed=3)
    before = datetime.now(UTC).replace(microsecond=0)
    run = run_tap(emulator_config(server, page_size=7))
    after = datetime.now(UTC)

    ids = [r["userID"] for r in run.records]
    assert len(ids) == len(set(ids)) == 30
    for record in run.records:
        stored = server.admin.get_user(record["userID"])
        assert micro(instant_ns(record["lastUpdatedAt"])) == micro(
            instant_ns(stored["lastUpdatedAt"])
        )
        assert record["algolia_last_updated"] == record["lastUpdatedAt"]
        assert record["segments"] == stored.get("segments", [])
        assert record["algolia_segment_ids"] == [s["id"] for s in stored.get("segments", [])]
        assert record["algolia_segment_sources"] == [
            s["source"] for s in stored.get("segments", [])
        ]
        names = [a["name"] for a in stored["affinities"]]
        assert sorted(record["algolia_affinities_name"]) == sorted(set(names))
        for name in set(names):
            best = max(a["score"] for a in stored["affinities"] if a["name"] == name)
            assert record["algolia_affinities_name_score"][name] == best

    assert run.final_state == {
        "bookmarks": {
            "users": {"replication_key": "lastUpdatedAt", "replication_key_value": run.bookmark}
        }
    }
    bookmark = datetime.strptime(run.bookmark, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before <= bookmark <= after
    assert server.admin.stats()["byRoute"] == {"GET /2/users": 5}


def test_updates_between_runs_and_no_more_duplicates_than_the_overlap(
    emulator_factory: Runner, run_tap: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=40, seed=5)
    config = emulator_config(server, page_size=10)
    first = run_tap(config)
    touched = sorted(first.by_id())[5:8]
    for user_id in touched:
        server.admin.touch(user_id)
    into_next_second()
    second = run_tap(config, state=first.final_state)

    # Seeded profiles are months older than the overlap: only the touched ones return.
    assert sorted(second.by_id()) == touched
    for user_id in touched:
        stored = server.admin.get_user(user_id)
        assert micro(instant_ns(second.by_id()[user_id]["lastUpdatedAt"])) == micro(
            instant_ns(stored["lastUpdatedAt"])
        )
    assert second.bookmark >= first.bookmark

    # A run with no changes re-reads only the overlap, and still advances.
    into_next_second()
    third = run_tap(config, state=second.final_state)
    assert sorted(third.by_id()) == touched  # updated within the last overlap_seconds
    assert third.bookmark >= second.bookmark
    fourth = run_tap({**config, "overlap_seconds": 1}, state=third.final_state)
    assert fourth.records == []


def test_profiles_updated_while_a_sync_pages_are_caught_next_run(
    emulator_factory: Runner, run_tap: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=40, seed=9)
    config = emulator_config(server, page_size=5)
    ordered = sorted(server.admin.get_user(u)["userID"] for u in _all_ids(server))
    early, late = ordered[1], ordered[-2]  # on the first page / on the last page
    server.admin.schedule_touch(after_list_calls=2, user_ids=[early, late])

    first = run_tap(config)
    assert len(first.records) >= 39
    stamped = {uid: server.admin.get_user(uid)["lastUpdatedAt"] for uid in (early, late)}
    into_next_second()
    second = run_tap(config, state=first.final_state)

    for uid, stamp in stamped.items():
        seen = [r for r in first.records + second.records if r["userID"] == uid]
        assert micro(instant_ns(stamp)) in {micro(instant_ns(r["lastUpdatedAt"])) for r in seen}
    assert set(second.by_id()) <= {early, late}


def _all_ids(server: t.Any) -> list[str]:
    import requests

    ids: list[str] = []
    token = None
    while True:
        params: dict[str, t.Any] = {"limit": 1000}
        if token:
            params["nextPageToken"] = token
        page = requests.get(
            server.url + "/2/users", params=params, headers=server.auth_headers, timeout=10
        ).json()
        ids += [u["userID"] for u in page["users"]]
        token = page.get("nextPageToken")
        if not token:
            return ids


BOOKMARK_AT_NINE = {
    "bookmarks": {
        "users": {
            "replication_key": "lastUpdatedAt",
            "replication_key_value": "2026-11-02T09:00:00.000000Z",
        }
    }
}


@pytest.mark.parametrize("bounds", ["inclusive", "exclusive"])
def test_a_profile_stamped_exactly_at_a_window_end_is_not_missed(
    bounds: str,
    emulator_factory: Runner,
    run_tap: Runner,
    emulator_config: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = emulator_factory(users=0, bounds=bounds)
    only(
        server,
        [
            user("at-end", "2026-11-02T10:00:00Z"),
            user("at-end-offset", "2026-11-02T12:00:00.000+02:00"),
            user("before", "2026-11-02T09:59:59.999999Z"),
            user("after", "2026-11-02T10:00:00.000001Z"),
        ],
    )
    config = emulator_config(server)
    fix_now(monkeypatch, datetime(2026, 11, 2, 10, 0, 0, 700000, tzinfo=UTC))
    # From a bookmark, so that the window has an end (a first import has none).
    first = run_tap(config, state=BOOKMARK_AT_NINE)
    assert first.bookmark == "2026-11-02T10:00:00.000000Z"
    if bounds == "inclusive":
        assert sorted(first.by_id()) == ["at-end", "at-end-offset", "before"]
    else:  # the emulator really excludes the bound: the next run must catch it
        assert sorted(first.by_id()) == ["before"]

    fix_now(monkeypatch, datetime(2026, 11, 2, 10, 0, 30, tzinfo=UTC))
    second = run_tap(config, state=first.final_state)
    assert second.bookmark == "2026-11-02T10:00:30.000000Z"
    assert sorted(second.by_id()) == ["after", "at-end", "at-end-offset", "before"]
    assert second.by_id()["at-end-offset"]["lastUpdatedAt"] == "2026-11-02T10:00:00.000000Z"


@pytest.mark.parametrize("bounds", ["inclusive", "exclusive"])
def test_start_date_keeps_profiles_on_or_after_it(
    bounds: str,
    emulator_factory: Runner,
    run_tap: Runner,
    emulator_config: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = emulator_factory(users=0, bounds=bounds)
    only(
        server,
        [
            user("exactly", "2026-10-01T00:00:00Z"),
            user("exactly-offset", "2026-09-30T19:00:00-05:00"),
            user("just-before", "2026-09-30T23:59:59.999Z"),
            user("just-before-offset", "2026-10-01T05:29:59.5+05:30"),
            user("long-before", "2026-09-01T00:00:00Z"),
            user("later", "2026-10-15T08:00:00.25Z"),
        ],
    )
    fix_now(monkeypatch, datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    run = run_tap(emulator_config(server, start_date="2026-10-01T00:00:00Z"))
    assert sorted(run.by_id()) == ["exactly", "exactly-offset", "later"]


def test_mixed_timestamp_forms_are_filtered_as_instants_and_emitted_canonically(
    emulator_factory: Runner,
    run_tap: Runner,
    emulator_config: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = emulator_factory(users=0)
    only(
        server,
        [
            user("a", "2026-11-02T12:00:00+02:00"),
            user("b", "2026-11-02T09:56:00.5-00:00"),
            user("c", "2026-11-02T05:30:00.123456789-05:00"),
            user("d", "2026-11-02T15:24:59+05:30"),
            user("e", "2026-11-02T11:00:00.000001Z"),
            user(
                "f",
                "2026-11-02T10:59:59.999Z",
                affinities=[
                    {
                        "name": "brand",
                        "value": "Nike",
                        "score": 4,
                        "indices": ["products"],
                        "lastUpdatedAt": "2026-11-02T06:00:00.1-04:00",
                    }
                ],
            ),
        ],
    )
    fix_now(monkeypatch, datetime(2026, 11, 2, 11, 0, 0, 400000, tzinfo=UTC))
    state = {
        "bookmarks": {
            "users": {
                "replication_key": "lastUpdatedAt",
                "replication_key_value": "2026-11-02T10:00:00.000000Z",
            }
        }
    }
    run = run_tap(emulator_config(server), state=state)
    assert {uid: r["lastUpdatedAt"] for uid, r in run.by_id().items()} == {
        "a": "2026-11-02T10:00:00.000000Z",
        "b": "2026-11-02T09:56:00.500000Z",
        "c": "2026-11-02T10:30:00.123456Z",
        "f": "2026-11-02T10:59:59.999000Z",
    }
    assert run.by_id()["f"]["affinities"][0]["lastUpdatedAt"] == "2026-11-02T10:00:00.100000Z"
    assert run.bookmark == "2026-11-02T11:00:00.000000Z"


def test_a_small_rate_limit_is_paced_without_429s(
    emulator_factory: Runner, run_tap: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=40, seed=11, rate_limit=3, rate_window=1.0)
    run = run_tap(emulator_config(server, page_size=5))
    assert len(run.by_id()) == 40
    stats = server.admin.stats()
    assert stats["byRoute"] == {"GET /2/users": 8}
    assert stats["rateLimited"] == 0


def test_5xx_429_and_dropped_connections_are_retried(
    emulator_factory: Runner, run_tap: Runner, emulator_config: Runner, fast_retries: None
) -> None:
    server = emulator_factory(users=20, seed=13)
    server.admin.inject_status(503, count=2)
    server.admin.inject_status(429, count=1, retry_after=1)
    server.admin.drop_connections(count=1)
    run = run_tap(emulator_config(server, page_size=5))
    assert len(run.by_id()) == 20
    stats = server.admin.stats()
    assert stats["injected"] == 3
    assert stats["dropped"] == 1
    assert stats["byStatus"].get("200") == 4
    assert run.bookmark


@pytest.mark.parametrize("status", [400, 404, 422])
def test_client_errors_are_not_retried(
    status: int, emulator_factory: Runner, run_tap: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=5)
    server.admin.inject_status(status, count=5)
    run = run_tap(emulator_config(server), raise_errors=False)
    assert str(run.error).startswith(f"{status} from Algolia on GET /2/users")
    assert server.admin.stats()["total"] == 1
    assert run.states == []


def test_state_lines_mid_sync_never_move_the_bookmark_and_an_interrupted_run_restarts(
    emulator_factory: Runner,
    run_tap: Runner,
    emulator_config: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = emulator_factory(users=30, seed=17)
    config = emulator_config(server, page_size=5, max_retries=0)
    old = "2026-08-01T00:00:00.000000Z"  # before every seeded profile
    state = {
        "bookmarks": {"users": {"replication_key": "lastUpdatedAt", "replication_key_value": old}}
    }
    monkeypatch.setattr(UsersStream, "STATE_MSG_FREQUENCY", 4)

    # Interrupted on the fourth page.
    calls = {"n": 0}
    real = tap_algolia.client.raise_for_response

    def failing_fourth_page(response: t.Any) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            response.status_code = 500
        real(response)

    monkeypatch.setattr(tap_algolia.client, "raise_for_response", failing_fourth_page)
    broken = run_tap(config, state=state, raise_errors=False)
    assert broken.error is not None
    assert len(broken.records) == 15
    assert (
        len(broken.states) >= 2
    )  # the input echo, then mid-sync (unchanged ones are deduplicated)
    for emitted in broken.states:
        users = emitted["bookmarks"]["users"]
        assert users["replication_key_value"] == old
        assert "progress_markers" not in users

    monkeypatch.setattr(tap_algolia.client, "raise_for_response", real)
    resumed = run_tap(config, state=broken.states[-1])
    assert len(resumed.by_id()) == 30
    for emitted in resumed.states[:-1]:
        assert emitted["bookmarks"]["users"]["replication_key_value"] == old
        assert "progress_markers" not in emitted["bookmarks"]["users"]
    assert resumed.final_state == {
        "bookmarks": {
            "users": {"replication_key": "lastUpdatedAt", "replication_key_value": resumed.bookmark}
        }
    }
    assert resumed.bookmark > old
