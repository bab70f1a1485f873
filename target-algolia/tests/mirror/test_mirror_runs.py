"""Mirror mode against the emulator: proofs, scope, guards, dry run, crashes and reruns."""

from __future__ import annotations

import json
import logging
import signal
import time
import typing as t

import pytest
from singer_sdk.exceptions import ConfigValidationError

from algolia_api import ServerError
from algolia_testkit.target_runs import (
    api_calls,
    base_config,
    load_profiles,
    run_cli,
    run_in_process,
    schema,
    segments_of,
    start_cli,
    state,
    to_lines,
    wait_until_reading,
)
from target_algolia.mirror.plan import MirrorGuardError
from target_algolia.target import TargetAlgolia

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"
S = "members"
#: A version as a singer-sdk tap makes it: the sync's start, in epoch seconds.
#: In-process runs started with this test process, so it is this run's.
V = int(time.time())


def version_now() -> int:
    """A fresh version, for a target process started after this call."""
    return int(time.time())


def member(user: str | None, slug: str | None, version: int | None = None, **extra: t.Any) -> dict:
    message: dict[str, t.Any] = {
        "type": "RECORD",
        "stream": S,
        "record": {"algolia_user_id": user, "segment": slug, **extra},
    }
    if version is not None:
        message["version"] = version
    return message


def activate(version: int) -> dict:
    return {"type": "ACTIVATE_VERSION", "stream": S, "version": version}


def mirror_config(emu: EmulatorServer, **overrides: t.Any) -> dict[str, t.Any]:
    stream: dict[str, t.Any] = {"stream": S, "audiences": ["vip", "gold"]}
    if "count_field" in overrides:
        stream["count_field"] = overrides.pop("count_field")
    # The fixture's audience is tiny: 2 of 3 holders leaving is a real 67%.
    overrides.setdefault("mirror_max_removal_fraction", 1)
    return base_config(emu, mirror_streams=[stream], **overrides)


@pytest.fixture
def app(emu: EmulatorServer) -> EmulatorServer:
    """Five profiles: two current members, one who left, one bystander, one newcomer."""
    load_profiles(
        emu,
        {
            "alice": [("vip", M), ("x", "crm")],  # stays a member: untouched
            "bob": [("vip", M), ("vip", "crm"), ("other", M)],  # left: loses vip/meltano only
            "carol": [],  # joins vip and gold
            "dave": [("x", "crm")],  # never a member, holds nothing in scope
            "erin": [("gold", M), ("vip", M)],  # stays in gold, leaves vip
        },
    )
    return emu


def current_members(version: int | None = None) -> list[dict]:
    return [
        member("alice", "vip", version),
        member("carol", "vip", version),
        member("carol", "gold", version),
        member("erin", "gold", version),
    ]


def assert_removed(emu: EmulatorServer) -> None:
    assert segments_of(emu, "alice") == [("vip", M), ("x", "crm")]
    assert segments_of(emu, "bob") == [("vip", "crm"), ("other", M)]
    assert segments_of(emu, "carol") == [("gold", M), ("vip", M)]
    assert segments_of(emu, "dave") == [("x", "crm")]
    assert segments_of(emu, "erin") == [("gold", M)]


def assert_added_only(emu: EmulatorServer) -> None:
    assert segments_of(emu, "bob") == [("vip", M), ("vip", "crm"), ("other", M)]
    assert segments_of(emu, "carol") == [("gold", M), ("vip", M)]
    assert segments_of(emu, "erin") == [("gold", M), ("vip", M)]


def test_activate_version_after_the_records_proves_the_membership(app: EmulatorServer) -> None:
    messages = [schema(S), *current_members(V), activate(V), state(1)]
    run = run_in_process(mirror_config(app), messages)
    assert run.error is None
    assert_removed(app)
    calls = api_calls(app)
    # One page; each changed profile is re-read and written once.
    assert calls == {
        "list": 1,
        "gets": {"bob": 1, "carol": 1, "erin": 1},
        "puts": {"bob": 1, "carol": 1, "erin": 1},
    }
    assert run.states == [{"bookmark": 1}]
    assert run.target.run.stats.mirror == {S: "proven/+2/-2"}


def test_rerun_of_the_same_membership_changes_nothing(app: EmulatorServer) -> None:
    messages = [schema(S), *current_members(V), activate(V), state(1)]
    assert run_in_process(mirror_config(app), messages).error is None
    app.admin.reset_stats()
    run = run_in_process(mirror_config(app), messages)
    assert run.error is None
    assert api_calls(app) == {"list": 1, "gets": {}, "puts": {}}
    assert_removed(app)


def test_activate_version_before_the_records_proves_nothing(
    app: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    # What singer-sdk taps (tap-postgres 0.10) send: ACTIVATE_VERSION first.
    messages = [schema(S), activate(V), *current_members(V), state(1)]
    with caplog.at_level(logging.WARNING):
        run = run_in_process(mirror_config(app), messages)
    assert run.error is None
    assert_added_only(app)
    assert "NOT proven complete" in caplog.text
    assert "removals skipped" in caplog.text
    assert run.target.run.stats.mirror == {S: "unproven:removals_skipped:no_proof/+2/-0"}
    assert "unproven:removals_skipped" in run.target.run.summary()
    assert run.states == [{"bookmark": 1}]


def test_end_of_input_alone_proves_nothing(app: EmulatorServer) -> None:
    run = run_in_process(mirror_config(app), [schema(S), *current_members(V), state(1)])
    assert run.error is None
    assert_added_only(app)


def test_activate_version_of_another_version_proves_nothing(app: EmulatorServer) -> None:
    messages = [schema(S), *current_members(V - 1), activate(V)]
    assert run_in_process(mirror_config(app), messages).error is None
    assert_added_only(app)


def test_records_without_a_version_are_not_proven_by_activate_version(
    app: EmulatorServer,
) -> None:
    messages = [schema(S), *current_members(None), activate(V)]
    assert run_in_process(mirror_config(app), messages).error is None
    assert_added_only(app)


def test_a_resumed_classic_version_removes_nothing_through_the_cli(
    app: EmulatorServer, tmp_path: Path
) -> None:
    # A classic tap (tap-postgres/tap-mysql FULL_TABLE) died an hour ago after
    # sending alice and carol; resumed now under the same version, it sends only
    # the rest of the table, then ACTIVATE_VERSION. Removing everyone this run
    # did not see would remove alice for a crash.
    resumed = int((time.time() - 3600) * 1000)
    rest = [member("erin", "gold", resumed)]
    result = run_cli(mirror_config(app), [schema(S), *rest, activate(resumed), state(1)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(app, "alice") == [("vip", M), ("x", "crm")]
    assert segments_of(app, "bob") == [("vip", M), ("vip", "crm"), ("other", M)]
    assert segments_of(app, "erin") == [("gold", M), ("vip", M)]
    assert api_calls(app)["puts"] == {}
    warning = next(line for line in result.stderr.splitlines() if "NOT proven complete" in line)
    assert f"version {resumed} (ms epoch) began 60 min before this run started" in warning
    assert "resumed sync" in warning
    assert "mirror={members:unproven:removals_skipped:version_before_this_run/+0/-0}" in (
        result.stderr
    )
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"bookmark": 1}]


@pytest.mark.parametrize(
    "unit", [pytest.param(1, id="seconds-singer-sdk"), pytest.param(1000, id="ms-classic")]
)
def test_a_version_begun_by_this_run_proves_through_the_cli(
    app: EmulatorServer, tmp_path: Path, unit: int
) -> None:
    fresh = int(time.time() * unit)  # taken before the target starts, as a tap would
    messages = [schema(S), *current_members(fresh), activate(fresh), state(1)]
    result = run_cli(mirror_config(app), messages, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert_removed(app)
    assert f"proven complete (ACTIVATE_VERSION {fresh} after its records)" in result.stderr
    assert "mirror={members:proven/+2/-2}" in result.stderr


@pytest.mark.parametrize("version", [1, 20260101])
def test_a_version_that_is_no_sync_start_time_proves_nothing_through_the_cli(
    app: EmulatorServer, tmp_path: Path, version: int
) -> None:
    messages = [schema(S), *current_members(version), activate(version), state(1)]
    result = run_cli(mirror_config(app), messages, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert_added_only(app)
    assert f"but version {version} is not a sync-start time" in result.stderr
    assert "removals_skipped:version_not_a_sync_start/+2/-0" in result.stderr


def test_a_version_from_the_future_proves_nothing(app: EmulatorServer) -> None:
    future = int((time.time() + 86400) * 1000)
    messages = [schema(S), *current_members(future), activate(future)]
    run = run_in_process(mirror_config(app), messages)
    assert run.error is None
    assert_added_only(app)
    outcome = "unproven:removals_skipped:version_not_a_sync_start/+2/-0"
    assert run.target.run.stats.mirror == {S: outcome}


def test_matching_count_column_proves_the_membership(app: EmulatorServer) -> None:
    rows = [
        member(m["record"]["algolia_user_id"], m["record"]["segment"], n=4)
        for m in current_members()
    ]
    run = run_in_process(mirror_config(app, count_field="n"), [schema(S), *rows, state(2)])
    assert run.error is None
    assert_removed(app)


def test_rows_missing_against_the_count_column_remove_nothing(app: EmulatorServer) -> None:
    # A tap killed after 3 of 4 rows.
    rows = [
        member(m["record"]["algolia_user_id"], m["record"]["segment"], n=4)
        for m in current_members()
    ]
    run = run_in_process(mirror_config(app, count_field="n"), [schema(S), *rows[:3]])
    assert run.error is None
    assert segments_of(app, "bob") == [("vip", M), ("vip", "crm"), ("other", M)]
    assert segments_of(app, "erin") == [("gold", M), ("vip", M)]
    assert segments_of(app, "carol") == [("gold", M), ("vip", M)]


def test_a_rejected_record_voids_the_proof(app: EmulatorServer) -> None:
    messages = [schema(S), *current_members(V), member("bad id!", "vip", V), activate(V)]
    run = run_in_process(mirror_config(app), messages)
    assert run.error is None
    assert_added_only(app)
    assert run.target.run.stats.rejected == {"invalid_user_id": 1}


def test_audience_outside_the_scope_is_rejected(app: EmulatorServer) -> None:
    messages = [schema(S), *current_members(V), member("dave", "shoes", V), activate(V)]
    run = run_in_process(mirror_config(app), messages)
    assert run.error is None
    assert run.target.run.stats.rejected == {"out_of_scope": 1}
    assert segments_of(app, "dave") == [("x", "crm")]
    assert_added_only(app)


def test_overlapping_scopes_are_refused_at_start_up(emu: EmulatorServer) -> None:
    config = base_config(
        emu,
        mirror_streams=[
            {"stream": "a", "audiences": ["vip", "gold"]},
            {"stream": "b", "audiences": ["gold"]},
        ],
    )
    with pytest.raises(ConfigValidationError) as raised:
        TargetAlgolia(config=config)
    assert "audience 'gold' is in the scope of two mirror streams, 'a' and 'b'" in str(
        raised.value.errors
    )


def test_a_stream_named_twice_is_refused(emu: EmulatorServer) -> None:
    config = base_config(
        emu,
        mirror_streams=[{"stream": "a", "audiences": ["vip"]}, {"stream": "a", "audiences": ["x"]}],
    )
    with pytest.raises(ConfigValidationError):
        TargetAlgolia(config=config)


def test_empty_proven_audience_is_refused(app: EmulatorServer) -> None:
    # The LEFT JOIN row of an emptied table: no user, only the count.
    run = run_in_process(
        mirror_config(app, count_field="n"), [schema(S), member(None, None, n=0), state(3)]
    )
    assert isinstance(run.error, MirrorGuardError)
    assert "mirror_allow_empty_audience" in str(run.error)
    assert run.states == []
    assert api_calls(app)["puts"] == {}


def test_empty_audience_applies_when_allowed(app: EmulatorServer) -> None:
    config = mirror_config(
        app, count_field="n", mirror_allow_empty_audience=True, mirror_max_removal_fraction=1
    )
    run = run_in_process(config, [schema(S), member(None, None, n=0), state(3)])
    assert run.error is None
    assert segments_of(app, "alice") == [("x", "crm")]
    assert segments_of(app, "erin") == []
    assert segments_of(app, "bob") == [("vip", "crm"), ("other", M)]
    assert run.states == [{"bookmark": 3}]


def test_removals_over_the_fraction_stop_the_run_before_any_write(app: EmulatorServer) -> None:
    # bob and erin lose segments: 2 of 3 holders, 67% > 50%. carol's addition waits too.
    config = mirror_config(app, mirror_max_removal_fraction=0.5)
    run = run_in_process(config, [schema(S), *current_members(V), activate(V), state(1)])
    assert isinstance(run.error, MirrorGuardError)
    message = str(run.error)
    assert "\n" not in message
    assert "2 of the 3 profiles" in message
    assert "mirror_max_removal_fraction" in message
    assert api_calls(app)["puts"] == {}
    assert run.states == []


def test_removals_over_the_count_stop_the_run_before_any_write(app: EmulatorServer) -> None:
    config = mirror_config(app, mirror_max_removals=1, mirror_max_removal_fraction=1)
    run = run_in_process(config, [schema(S), *current_members(V), activate(V)])
    assert isinstance(run.error, MirrorGuardError)
    assert "mirror_max_removals=1" in str(run.error)
    assert api_calls(app)["puts"] == {}


def test_guard_error_is_one_line_on_the_cli(app: EmulatorServer, tmp_path: Path) -> None:
    config = mirror_config(app, mirror_max_removals=1, mirror_max_removal_fraction=1)
    v = version_now()
    result = run_cli(config, [schema(S), *current_members(v), activate(v), state(1)], tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if "Mirror guard" in line]
    assert len(errors) == 1
    assert "Traceback" not in result.stderr


def test_dry_run_prints_the_plan_and_writes_it_as_json_lines(
    app: EmulatorServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plan_path = tmp_path / "plan.jsonl"
    config = mirror_config(app, dry_run=True, mirror_plan_path=str(plan_path))
    with caplog.at_level(logging.INFO):
        run = run_in_process(config, [schema(S), *current_members(V), activate(V)])
    assert run.error is None
    calls = api_calls(app)
    assert (calls["gets"], calls["puts"]) == ({}, {})
    assert "2 segments to add on 1 profiles, 2 to remove from 2 of the 3 profiles" in caplog.text
    assert "sample adding ['carol'], sample removing ['bob', 'erin']" in caplog.text
    lines = [json.loads(line) for line in plan_path.read_text().splitlines()]
    assert lines == [
        {"userID": "bob", "add": [], "remove": ["vip"]},
        {"userID": "carol", "add": ["gold", "vip"], "remove": []},
        {"userID": "erin", "add": [], "remove": ["vip"]},
    ]
    assert segments_of(app, "bob") == [("vip", M), ("vip", "crm"), ("other", M)]


def test_dry_run_reports_a_tripped_guard_without_failing(
    app: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = mirror_config(app, dry_run=True, mirror_max_removals=1)
    with caplog.at_level(logging.WARNING):
        run = run_in_process(config, [schema(S), *current_members(V), activate(V)])
    assert run.error is None
    assert "a real run would stop here" in caplog.text


def test_profile_deleted_between_scan_and_write_is_skipped(app: EmulatorServer) -> None:
    # Deleted right after the scan's only page.
    app.admin.schedule_touch(1, ["bob"], action="delete")
    run = run_in_process(
        mirror_config(app), [schema(S), *current_members(V), activate(V), state(1)]
    )
    assert run.error is None
    assert run.target.run.stats.skipped == {"profile_not_found": 1}
    assert segments_of(app, "erin") == [("gold", M)]
    assert run.states == [{"bookmark": 1}]


def test_a_write_landing_after_the_scan_survives_the_reread(app: EmulatorServer) -> None:
    app.admin.schedule_touch(
        1,
        ["erin"],
        action="segments",
        segments=[
            {"id": "gold", "source": M},
            {"id": "vip", "source": M},
            {"id": "new", "source": "crm"},
        ],
    )
    run = run_in_process(mirror_config(app), [schema(S), *current_members(V), activate(V)])
    assert run.error is None
    assert segments_of(app, "erin") == [("gold", M), ("new", "crm")]


def test_scan_page_failing_after_retries_writes_nothing(emu: EmulatorServer) -> None:
    load_profiles(emu, {f"u{i:05d}": [("vip", M)] for i in range(2500)})
    config = mirror_config(emu, max_retries=1)
    members = [member(f"u{i:05d}", "vip", V) for i in range(2500) if i != 1200]
    # Page 1 passes; page 2 fails on its try and its retry.
    emu.admin.inject_status(503, 2, method="GET", path_prefix="/2/users", after=1)
    run = run_in_process(
        config, [schema(S), *members, member("u99999", "vip", V), activate(V), state(4)]
    )
    assert isinstance(run.error, ServerError)
    assert run.states == []
    assert api_calls(emu)["puts"] == {}


def test_crash_while_applying_then_rerun_converges(app: EmulatorServer) -> None:
    messages = [schema(S), *current_members(V), activate(V), state(1)]
    config = mirror_config(app, max_retries=0, concurrency=1)
    # The second PUT fails: one profile is written, the run stops without STATE.
    app.admin.inject_status(500, 1, method="PUT", after=1)
    run = run_in_process(config, messages)
    assert isinstance(run.error, ServerError)
    assert run.states == []
    assert len(api_calls(app)["puts"]) == 2
    run = run_in_process(config, messages)
    assert run.error is None
    assert_removed(app)
    assert run.states == [{"bookmark": 1}]


def test_members_without_a_profile_cost_no_call(app: EmulatorServer) -> None:
    messages = [schema(S), *current_members(V), member("ghost", "vip", V), activate(V)]
    run = run_in_process(mirror_config(app), messages)
    assert run.error is None
    assert "ghost" not in api_calls(app)["gets"]
    assert run.target.run.stats.skipped == {"profile_not_found": 1}
    assert_removed(app)


def test_state_waits_for_the_mirror_plan_when_other_streams_flush(app: EmulatorServer) -> None:
    events = [
        {
            "type": "RECORD",
            "stream": "events",
            "record": {"algolia_user_id": "dave", "segment": "shoes", "event": "enter"},
        },
    ]
    config = mirror_config(app, batch_size_rows=1)
    messages = [
        schema(S),
        schema("events"),
        *events,
        state(1),
        *current_members(V),
        activate(V),
        state(2),
    ]
    run = run_in_process(config, messages)
    assert run.error is None
    assert segments_of(app, "dave") == [("x", "crm"), ("shoes", M)]
    assert run.states == [{"bookmark": 2}]


def test_entry_only_trigger_never_removes(app: EmulatorServer) -> None:
    config = mirror_config(app, trigger_events="entry")
    run = run_in_process(config, [schema(S), *current_members(V), activate(V)])
    assert run.error is None
    assert_added_only(app)


def test_sigterm_before_the_end_of_input_applies_nothing_and_emits_no_state(
    app: EmulatorServer, tmp_path: Path
) -> None:
    # Even a proven membership is not applied on a stop signal: the plan runs
    # only at the end of the input, and a signal is not one.
    v = version_now()
    proc = start_cli(mirror_config(app), tmp_path)
    assert proc.stdin is not None
    proc.stdin.write(to_lines([schema(S), *current_members(v), activate(v), state(1)]))
    proc.stdin.flush()
    wait_until_reading(tmp_path, S)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert out == ""
    assert api_calls(app)["puts"] == {}
    assert segments_of(app, "bob") == [("vip", M), ("vip", "crm"), ("other", M)]
    # The rerun with the whole input converges.
    run = run_in_process(
        mirror_config(app), [schema(S), *current_members(V), activate(V), state(1)]
    )
    assert run.error is None
    assert_removed(app)
    assert run.states == [{"bookmark": 1}]
