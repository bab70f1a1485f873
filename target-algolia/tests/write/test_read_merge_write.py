"""The target against the emulator over real HTTP: merge rules, calls, skips, faults."""

from __future__ import annotations

import json
import typing as t

import pytest

from algolia_api import AuthenticationError
from algolia_testkit.target_runs import (
    base_config,
    event,
    put_user,
    record,
    run_in_process,
    schema,
    segments_of,
    snapshot,
    state,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"


def user_calls(emu: EmulatorServer) -> tuple[dict[str, int], dict[str, int]]:
    stats = emu.admin.stats()
    return stats["userGets"], stats["userPuts"]


def test_events_merge_and_cost_one_get_and_at_most_one_put(emu: EmulatorServer) -> None:
    put_user(emu, "alice", [("vip", "crm"), ("vip", M), ("old", M)])
    put_user(emu, "bob", [])
    put_user(emu, "carol", [("shoes", M), ("vip", "cdp")])
    put_user(emu, "team/dave", [("x", "crm")])
    messages = [
        schema(),
        event("alice", "shoes", "enter"),
        event("alice", "vip", "exit"),
        event("bob", "vip", "enter"),
        event("bob", "vip", "exit"),  # absent, entered then left: nothing to write
        event("carol", "shoes", "enter"),  # already there: nothing to write
        event("carol", "vip", "exit"),  # only cdp's vip there: untouched
        event("team/dave", "x", "enter"),
        event("alice", "shoes", "enter"),  # duplicate within the batch
        state(1),
    ]
    run = run_in_process(base_config(emu), messages)
    assert run.error is None
    assert segments_of(emu, "alice") == [("vip", "crm"), ("old", M), ("shoes", M)]
    assert segments_of(emu, "bob") == []
    assert segments_of(emu, "carol") == [("shoes", M), ("vip", "cdp")]
    assert segments_of(emu, "team/dave") == [("x", "crm"), ("x", M)]
    gets, puts = user_calls(emu)
    assert gets == {"alice": 1, "bob": 1, "carol": 1, "team/dave": 1}
    assert puts == {"alice": 1, "team/dave": 1}
    assert run.states == [{"bookmark": 1}]
    stats = run.target.run.stats
    assert (stats.records, stats.users, stats.writes, stats.unchanged) == (8, 4, 2, 2)
    assert (stats.segments_added, stats.segments_removed) == (2, 1)


def test_user_id_with_slash_is_sent_as_one_encoded_path_segment(emu: EmulatorServer) -> None:
    put_user(emu, "team/alice", [])
    # A user called "team" must not be the one touched.
    put_user(emu, "team", [])
    run = run_in_process(base_config(emu), [schema(), event("team/alice", "vip")])
    assert run.error is None
    assert segments_of(emu, "team/alice") == [("vip", M)]
    assert segments_of(emu, "team") == []
    assert "(unmatched)" not in " ".join(emu.admin.stats()["byRoute"])


def test_snapshot_adds_listed_and_removes_unlisted_managed_segments(emu: EmulatorServer) -> None:
    put_user(emu, "u1", [("old", M), ("vip", "crm"), ("keep", M), ("old", "cdp")])
    put_user(emu, "u2", [("a", M), ("b", M)])
    put_user(emu, "u3", [("a", M)])
    messages = [
        schema(),
        snapshot("u1", ["keep", "new"]),
        snapshot("u2", ["a", "b"]),  # already exactly that: no write
        snapshot("u3", []),
    ]
    run = run_in_process(base_config(emu), messages)
    assert run.error is None
    assert segments_of(emu, "u1") == [("vip", "crm"), ("keep", M), ("old", "cdp"), ("new", M)]
    assert segments_of(emu, "u2") == [("a", M), ("b", M)]
    assert segments_of(emu, "u3") == []
    assert user_calls(emu)[1] == {"u1": 1, "u3": 1}


@pytest.mark.parametrize(
    ("trigger", "expected_u1", "expected_u2"),
    [
        # Entry-only: adds, never removes. Exit-only: removes, never adds.
        ("entry", [("gone", M), ("new", M)], [("x", M), ("s1", M)]),
        ("exit", [], []),
        ("both", [("new", M)], [("s1", M)]),
    ],
)
def test_trigger_events(
    emu: EmulatorServer,
    trigger: str,
    expected_u1: list[tuple[str, str]],
    expected_u2: list[tuple[str, str]],
) -> None:
    put_user(emu, "u1", [("gone", M)])
    put_user(emu, "u2", [("x", M)])
    messages = [
        schema(),
        event("u1", "new", "enter"),
        event("u1", "gone", "exit"),
        snapshot("u2", ["s1"]),
    ]
    run = run_in_process(base_config(emu, trigger_events=trigger), messages)
    assert run.error is None
    assert segments_of(emu, "u1") == expected_u1
    assert segments_of(emu, "u2") == expected_u2
    skipped = run.target.run.stats.skipped.get("filtered_by_trigger", 0)
    assert skipped == (0 if trigger == "both" else 1)


def test_events_are_case_insensitive_and_custom_field_and_source(emu: EmulatorServer) -> None:
    put_user(emu, "u1", [("vip", "crm"), ("vip", "lytics")])
    messages = [
        schema(),
        record({"uid": "u1", "segment": "shoes", "event": "ENTER"}),
        record({"uid": "u1", "segment": "vip", "event": "Exit"}),
    ]
    config = base_config(emu, user_id_field="uid", segment_source="lytics")
    run = run_in_process(config, messages)
    assert run.error is None
    assert segments_of(emu, "u1") == [("vip", "crm"), ("shoes", "lytics")]


def test_records_of_any_stream_and_schema_are_accepted(emu: EmulatorServer) -> None:
    put_user(emu, "u1", [])
    wrong_schema = {
        "algolia_user_id": {"type": "integer"},
        "segment": {"type": "string", "format": "date-time"},
        "segments": {"type": "object"},
    }
    messages = [
        schema("warehouse_rows", wrong_schema),
        record(
            {"algolia_user_id": "u1", "segment": "vip", "event": "enter", "extra": 1.5},
            "warehouse_rows",
        ),
        record({"algolia_user_id": 42, "segment": "vip", "event": "enter"}, "warehouse_rows"),
        record({"algolia_user_id": "u1", "segments": {"vip": True}}, "warehouse_rows"),
        state(7),
    ]
    # Two of three records are rejected: max_rejected_fraction=1 keeps the run from failing.
    run = run_in_process(base_config(emu, max_rejected_fraction=1), messages)
    assert run.error is None
    assert segments_of(emu, "u1") == [("vip", M)]
    assert run.target.run.stats.rejected == {"invalid_user_id": 1, "invalid_segment": 1}
    assert run.states == [{"bookmark": 7}]


def test_two_streams_share_one_batch_in_input_order(emu: EmulatorServer) -> None:
    put_user(emu, "u1", [("a", M)])
    messages = [
        schema("one"),
        schema("two"),
        event("u1", "b", "enter", stream="two"),
        event("u1", "a", "exit", stream="one"),
        event("u1", "b", "exit", stream="one"),
        event("u1", "c", "enter", stream="two"),
    ]
    run = run_in_process(base_config(emu), messages)
    assert run.error is None
    assert segments_of(emu, "u1") == [("c", M)]
    gets, puts = user_calls(emu)
    assert (gets, puts) == ({"u1": 1}, {"u1": 1})


def test_each_batch_reads_and_writes_a_user_at_most_once(emu: EmulatorServer) -> None:
    put_user(emu, "u1", [])
    put_user(emu, "u2", [])
    messages = [
        schema(),
        event("u1", "a"),
        event("u1", "b"),
        event("u2", "a"),  # batch 1 full (3 rows)
        event("u1", "c"),
        event("u1", "c"),
        event("u2", "a"),  # batch 2: u2 unchanged
    ]
    run = run_in_process(base_config(emu, batch_size_rows=3), messages)
    assert run.error is None
    assert segments_of(emu, "u1") == [("a", M), ("b", M), ("c", M)]
    gets, puts = user_calls(emu)
    assert gets == {"u1": 2, "u2": 2}
    assert puts == {"u1": 2, "u2": 1}


def test_rejects_and_skips_are_counted_recorded_and_never_sent(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "good", [])
    put_user(emu, "refused", [])
    emu.admin.inject_status(400, count=5, method="PUT", path_prefix="/2/users/refused/")
    rejects = tmp_path / "out" / "rejects.jsonl"
    bad_ids: list[t.Any] = ["", "x" * 130, "has space", "é", 12, None, ["a"]]
    messages = [
        schema(),
        *[event(uid, "vip") for uid in bad_ids],
        record({"segment": "vip", "event": "enter"}),  # no user ID field at all
        event("good", 5),
        event("good", ""),
        event("good", "s" * 257),
        event("good", "vip", "joined"),
        event("good", "vip", None),
        snapshot("good", ["ok", 3]),
        snapshot("good", {"vip": True}),
        record({"algolia_user_id": "good", "name": "not an audience row"}),
        record({"algolia_user_id": "good", "segment": "a", "event": "enter", "segments": []}),
        event("ghost", "vip"),  # no such profile
        event("refused", "vip"),  # 400 on write: rejected, not retried
        event("good", "s" * 256),
        state(1),
    ]
    # Mostly rejects: max_rejected_fraction=1 keeps the run from failing.
    config = base_config(emu, rejects_path=str(rejects), max_rejected_fraction=1)
    run = run_in_process(config, messages)
    assert run.error is None
    assert segments_of(emu, "good") == [("s" * 256, M)]
    assert segments_of(emu, "refused") == []
    gets, puts = user_calls(emu)
    assert set(gets) == {"good", "ghost", "refused"}
    assert puts == {"good": 1, "refused": 1}
    assert run.states == [{"bookmark": 1}]
    assert run.target.run.stats.rejected == {
        "invalid_user_id": 8,
        "invalid_segment": 5,
        "unknown_event": 2,
        "not_an_audience_record": 1,
        "ambiguous_record": 1,
        "api_refused": 1,
    }
    assert run.target.run.stats.skipped == {"profile_not_found": 1}
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert len(lines) == 19
    assert all(line["stream"] == "audience" for line in lines)
    by_user = {json.dumps(line["record"].get("algolia_user_id")): line for line in lines}
    assert by_user['"ghost"']["reason"].startswith("profile_not_found")
    assert by_user['"refused"']["reason"].startswith("api_refused")
    assert "400" in by_user['"refused"']["reason"]
    assert by_user["12"]["record"] == {"algolia_user_id": 12, "segment": "vip", "event": "enter"}


def test_dry_run_reads_but_never_writes(
    emu: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    put_user(emu, "u1", [("vip", "crm"), ("old", M)])
    put_user(emu, "u2", [("a", M)])
    messages = [schema(), event("u1", "new"), event("u1", "old", "exit"), event("u2", "a")]
    with caplog.at_level("INFO"):
        run = run_in_process(base_config(emu, dry_run=True), messages)
    assert run.error is None
    assert segments_of(emu, "u1") == [("vip", "crm"), ("old", M)]
    gets, puts = user_calls(emu)
    assert gets == {"u1": 1, "u2": 1}
    assert puts == {}
    assert "PUT /2/users/{userID}/segments" not in emu.admin.stats()["byRoute"]
    assert run.target.run.stats.would_write == 1
    assert run.target.run.stats.writes == 0
    assert "would write user u1: add ['new'], remove ['old']" in caplog.text
    assert "writes_planned=1 (dry run)" in run.target.run.summary()


@pytest.mark.parametrize(
    ("fault", "kwargs"),
    [
        ("status", {"status": 429, "count": 6, "retry_after": 1}),
        ("status", {"status": 503, "count": 6}),
        ("status", {"status": 500, "count": 3, "method": "PUT"}),
        ("drop", {"count": 6}),
    ],
)
def test_transient_faults_are_retried_until_the_merge_lands(
    emu: EmulatorServer, fault: str, kwargs: dict[str, t.Any]
) -> None:
    users = [f"u{i}" for i in range(12)]
    for uid in users:
        put_user(emu, uid, [("vip", "crm")])
    if fault == "status":
        status = kwargs.pop("status")
        emu.admin.inject_status(status, path_prefix="/2/users/u", **kwargs)
    else:
        emu.admin.drop_connections(path_prefix="/2/users/u", **kwargs)
    messages = [schema(), *[event(uid, "shoes") for uid in users], state("done")]
    run = run_in_process(base_config(emu, concurrency=4), messages)
    assert run.error is None, run.error
    for uid in users:
        assert segments_of(emu, uid) == [("vip", "crm"), ("shoes", M)]
    stats = emu.admin.stats()
    failures = stats["injected"] + stats["dropped"]
    assert failures == kwargs["count"]
    assert run.target.run.stats.writes == len(users)
    assert run.states == [{"bookmark": "done"}]
    # Every failure was retried: the client saw it and tried again.
    assert run.target.run.client is not None
    assert run.target.run.client.retries == failures


def test_auth_failure_in_a_worker_stops_the_run_without_state(emu: EmulatorServer) -> None:
    users = [f"u{i:03d}" for i in range(60)]
    for uid in users:
        put_user(emu, uid, [])
    emu.admin.set_latency(20)
    # Credentials check and first GETs pass; then the key is revoked.
    emu.admin.inject_status(401, count=1000, method="PUT")
    messages = [schema(), *[event(uid, "vip") for uid in users], state(1)]
    run = run_in_process(base_config(emu, concurrency=4), messages)
    assert isinstance(run.error, AuthenticationError)
    assert run.states == []
    gets, _ = user_calls(emu)
    # Aborted promptly: far fewer users were even read than the batch held.
    assert sum(gets.values()) <= 12
    assert run.target.run.client is not None
    assert run.target.run.client.retries == 0


def test_persistent_server_failure_fails_the_run_without_state(emu: EmulatorServer) -> None:
    put_user(emu, "u1", [])
    emu.admin.inject_status(503, count=100, path_prefix="/2/users/u1")
    messages = [schema(), event("u1", "vip"), state(1)]
    run = run_in_process(base_config(emu, max_retries=1), messages)
    assert run.error is not None
    assert run.states == []
