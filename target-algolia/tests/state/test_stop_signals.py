"""A stop signal ends a run in one of two ways: the STATE of written work, or no STATE and a
non-zero exit.

Each case is one an operator met by signalling the real ``target-algolia``
executable while it worked against the emulator: one SIGTERM as a full batch
starts writing, a burst of signals after a stop in the middle of a batch, and
a SIGTERM between batches while a mirror plan, an erasure or an exceeded
reject bound is still pending (the run's work is not done, so it must not
look green to an orchestrator).
"""

from __future__ import annotations

import signal
import threading
import typing as t

from algolia_testkit import target_runs as tk
from algolia_testkit.signal_runs import SignalledRun, sigterm_burst_after_sigint, wait_until

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"
BEFORE = [("vip", "crm"), ("promo", M)]
AFTER = [("vip", "crm")]
# Only a full batch or the end of input starts a write: the signal decides the rest.
QUIET = {"max_wait_seconds": 3600, "summary_interval_seconds": 0}


def _config(emu: EmulatorServer, **overrides: t.Any) -> dict[str, t.Any]:
    return tk.base_config(emu, **{**QUIET, **overrides})


def _unwritten(emu: EmulatorServer, users: t.Iterable[str]) -> list[str]:
    return [uid for uid in users if tk.segments_of(emu, uid) != AFTER]


def _late_states(emu: EmulatorServer, users: list[str], late: list[str]) -> t.Callable:
    """An on_state check: at the moment a STATE appears, every user it covers is written."""

    def check(value: dict[str, t.Any]) -> None:
        late.extend(_unwritten(emu, users[: value["bookmark"] + 1]))

    return check


def test_one_sigterm_as_a_full_batch_starts_writing_never_emits_its_state_without_the_writes(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    # 9,999 exit events, 5 of them for users with profiles, a STATE covering them,
    # one more record that fills the 10,000-row batch, and the input left open.
    real = [f"real-{n}" for n in range(5)]
    for uid in real:
        tk.put_user(emu, uid, BEFORE)
    users = [f"ghost-{n:05d}" for n in range(9_994)]
    for n, uid in enumerate(real):
        users.insert(n * 2_000, uid)
    messages = [tk.schema(), *(tk.event(uid, "promo", "exit") for uid in users)]
    messages += [tk.state(len(users) - 1), tk.event("after-state", "promo", "exit")]
    late: list[str] = []
    run = SignalledRun(
        _config(emu, batch_size_rows=10_000),
        tmp_path,
        on_state=lambda _value: late.extend(_unwritten(emu, real)),
    )
    feeder = threading.Thread(target=run.feed, args=(messages,), daemon=True)
    feeder.start()
    run.wait_log("Target sink for 'audience' is full")
    run.signal(signal.SIGTERM)
    code = run.finish()
    assert late == [], f"STATE emitted before these users were written: {late}"
    if run.states:
        assert run.states == [{"bookmark": len(users) - 1}]
        assert _unwritten(emu, real) == []
    else:
        assert code != 0, "no STATE and exit 0: the stop looks like a finished run"


def test_a_burst_of_signals_after_a_stop_mid_batch_never_emits_a_half_written_batch(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    # 39 exits and a STATE, one more record filling the 40-row batch, input left open.
    users = [f"user-{n:02d}" for n in range(40)]
    for uid in users:
        tk.put_user(emu, uid, BEFORE)
    messages = [tk.schema(), *(tk.event(uid, "promo", "exit") for uid in users[:39])]
    messages += [tk.state(38), tk.event(users[39], "promo", "exit")]
    late: list[str] = []
    hold = emu.admin.hold_request(method="PUT", after=2, phase="after")  # the third PUT
    run = SignalledRun(
        _config(emu, batch_size_rows=40, concurrency=2),
        tmp_path,
        on_state=_late_states(emu, users, late),
    )
    run.feed(messages)
    assert emu.admin.wait_for_hold(hold, timeout=20), "the target never made a third PUT"
    burst = threading.Thread(target=sigterm_burst_after_sigint, args=(run,))
    burst.start()
    run.exited_within(0.5)
    emu.admin.release_hold(hold)
    burst.join(30)
    code = run.finish()
    assert late == [], f"STATE emitted before these users were written: {late}"
    if run.states:
        assert _unwritten(emu, users[:39]) == []
    else:
        assert code != 0, "no STATE and exit 0: the stop looks like a finished run"


def _stop_between_batches(run: SignalledRun, messages: list[dict]) -> int:
    run.feed(messages)
    run.wait_input_taken()
    assert run.proc.poll() is None, run.log()
    run.signal(signal.SIGTERM)
    return run.finish()


def test_a_sigterm_while_a_mirror_plan_is_pending_exits_non_zero(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    # Members of a proven-complete audience table are read; the plan runs at the end
    # of input, which never comes: the stop leaves the plan undone.
    tk.put_user(emu, "left", [("vip", M)])
    stream = "audience_members"
    members = ["stays-1", "stays-2"]
    for uid in members:
        tk.put_user(emu, uid, [])
    config = _config(
        emu,
        mirror_streams=[{"stream": stream, "audiences": ["vip"], "count_field": "rows"}],
    )
    messages: list[dict] = [tk.schema(stream)]
    messages += [
        tk.record({"algolia_user_id": uid, "segment": "vip", "rows": len(members)}, stream)
        for uid in members
    ]
    messages.append(tk.state(1))
    run = SignalledRun(config, tmp_path)
    code = _stop_between_batches(run, messages)
    assert run.states == []
    assert code != 0, "the mirror plan was never applied, yet the run exited 0"
    assert tk.segments_of(emu, "left") == [("vip", M)]


def test_a_sigterm_while_an_erasure_is_pending_exits_non_zero(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    tk.put_user(emu, "erase-me", [("vip", M)])
    stream = "erasure_requests"
    config = _config(emu, erasure_streams=[stream])
    messages = [
        tk.schema(stream),
        tk.record({"algolia_user_id": "erase-me", "request_id": "r-1"}, stream),
        tk.state(0),
    ]
    run = SignalledRun(config, tmp_path)
    code = _stop_between_batches(run, messages)
    assert run.states == []
    assert code != 0, "the erasure was never applied, yet the run exited 0"
    assert emu.admin.get_user("erase-me") is not None


def test_a_sigterm_after_the_reject_bound_was_exceeded_exits_non_zero(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    # 4 records, 3 of them rejected (75% > 50%); the valid one is written in its own batch.
    tk.put_user(emu, "good", BEFORE)
    messages = [
        tk.schema(),
        tk.event("good", "promo", "exit"),
        *(tk.event(f"bad-{n}", "promo", "joined") for n in range(3)),
        tk.state(3),
    ]
    run = SignalledRun(_config(emu, batch_size_rows=1), tmp_path)
    run.feed(messages)
    wait_until(lambda: tk.segments_of(emu, "good") == AFTER, "the valid record's write")
    code = _stop_between_batches(run, [])
    assert run.states == []
    assert code != 0, "more records were rejected than the bound allows, yet the run exited 0"
