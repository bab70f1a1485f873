"""Signals at every step of a batch's life, in every kind of run: STATE only for written work.

A fault-point search, black-box: the real ``target-algolia`` executable works
against the emulator, and the test stops it at one step of its second batch
(or of the end-of-input plan, for mirror and erasure runs) by holding one API
call in the emulator until it has signalled the target. The steps:

* ``before-taken``: the batch is full or the input is all read, no call made
  for it yet (the SDK's "sink is full" line, or the input drained from the pipe);
* ``after-taken``: the batch's first call has arrived and is held;
* ``between-get-put``: a profile was read, its PUT is held before it is applied;
* ``after-put``: a PUT was applied and answered, the next call is held;
* ``before-state``: the last write was applied, its answer is held, so the
  STATE that would follow it is not out yet.

Signals: one SIGTERM, two (SIGTERM then SIGINT), or a burst (SIGINT, then
SIGTERM every 2 ms). Runs: events, CDC rows (``_sdc_deleted_at``), snapshots,
a proven mirror stream, and erasure requests. Every case checks:

1. no STATE appears (checked the moment it is printed) whose records are not
   all written;
2. the exit code is non-zero whenever work remained;
3. a rerun from the last STATE printed (the input after it, or all of it when
   none was printed, as Meltano replays) converges to the true profiles.
"""

from __future__ import annotations

import signal
import time
import typing as t
from dataclasses import dataclass

import pytest

from algolia_testkit import target_runs as tk
from algolia_testkit.signal_runs import SignalledRun, sigterm_burst_after_sigint, wait_until

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"
STAMP = "2026-11-01T00:00:00Z"
CRM = ("vip", "crm")
BATCH = 3  # rows per batch in event-like runs; two batches of users

Segments = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Hold:
    method: str
    after: int
    phase: str = "before"


@dataclass
class Scenario:
    """One kind of run: profiles before, the input, and the truth after."""

    config: dict[str, t.Any]
    before: dict[str, list[tuple[str, str]]]
    messages: list[dict]
    truth: dict[str, Segments | None]  # None: the profile is erased
    # Whether stdin stays open (a live stream) or ends (the plan runs at its end).
    closes_input: bool
    # For each step, the call to hold; before-taken holds nothing in these runs.
    holds: dict[str, Hold | None]


def _event_like(kind: str) -> Scenario:
    users = [f"{kind}-{n}" for n in range(2 * BATCH)]
    before = {uid: [CRM, ("promo", M)] for uid in users}
    stream = "audience"
    properties: dict[str, t.Any] = {}
    if kind == "cdc":
        properties = {"_sdc_deleted_at": {"type": ["null", "string"]}}
    records: list[dict] = []
    truth: dict[str, Segments | None] = {}
    for n, uid in enumerate(users):
        if kind == "snapshot":
            records.append(tk.snapshot(uid, ["new"], stream))
            truth[uid] = frozenset({CRM, ("new", M)})
        elif n % 2 == 0:  # an entry: an event, or an inserted row
            fields = {"algolia_user_id": uid, "segment": "new"}
            records.append(tk.record({**fields, "event": "enter"} if kind == "event" else fields))
            truth[uid] = frozenset({CRM, ("promo", M), ("new", M)})
        else:  # an exit: an event, or a deleted row
            fields = {"algolia_user_id": uid, "segment": "promo"}
            extra = {"event": "exit"} if kind == "event" else {"_sdc_deleted_at": STAMP}
            records.append(tk.record({**fields, **extra}))
            truth[uid] = frozenset({CRM})
    # Each batch: rows, the STATE covering all but its last row, then the row that
    # fills it; a full batch is written and that STATE follows it.
    messages: list[dict] = [tk.schema(stream, properties)]
    for start in range(0, len(records), BATCH):
        chunk = records[start : start + BATCH]
        messages += [*chunk[:-1], tk.state(start + BATCH - 2), chunk[-1]]
    # Calls, one user at a time: GET and PUT per user; the second batch's are the 4th-6th.
    return Scenario(
        config={"batch_size_rows": BATCH},
        before=before,
        messages=messages,
        truth=truth,
        closes_input=False,
        holds={
            "before-taken": Hold("GET", after=BATCH),
            "after-taken": Hold("GET", after=BATCH),
            "between-get-put": Hold("PUT", after=BATCH),
            "after-put": Hold("GET", after=BATCH + 1),
            "before-state": Hold("PUT", after=2 * BATCH - 1, phase="after"),
        },
    )


def _mirror() -> Scenario:
    stream = "audience_members"
    members, departed = ["member-0", "member-1"], ["gone-0", "gone-1", "gone-2"]
    before = {uid: [CRM] for uid in members} | {uid: [CRM, ("vip", M)] for uid in departed}
    rows = [
        tk.record({"algolia_user_id": uid, "segment": "vip", "rows": len(members)}, stream)
        for uid in members
    ]
    truth: dict[str, Segments | None] = {uid: frozenset({CRM, ("vip", M)}) for uid in members}
    truth |= {uid: frozenset({CRM}) for uid in departed}
    changed = len(members) + len(departed)
    # Calls at the end of input: one list page, then GET and PUT per changed profile.
    return Scenario(
        config={
            "mirror_streams": [{"stream": stream, "audiences": ["vip"], "count_field": "rows"}],
            # Every departed member leaves on purpose: the removal guard must let it.
            "mirror_max_removal_fraction": 1.0,
        },
        before=before,
        messages=[tk.schema(stream), *rows, tk.state(len(rows) - 1)],
        truth=truth,
        closes_input=True,
        holds={
            "before-taken": None,
            "after-taken": Hold("GET", after=0),
            "between-get-put": Hold("PUT", after=0),
            "after-put": Hold("GET", after=2),
            "before-state": Hold("PUT", after=changed - 1, phase="after"),
        },
    )


def _erasure() -> Scenario:
    stream = "erasure_requests"
    erased = [f"erase-{n}" for n in range(4)]
    before = {uid: [CRM, ("promo", M)] for uid in erased} | {"keep": [CRM]}
    requests = [tk.record({"algolia_user_id": uid, "request_id": uid}, stream) for uid in erased]
    truth: dict[str, Segments | None] = dict.fromkeys(erased)
    truth["keep"] = frozenset({CRM})
    return Scenario(
        config={"erasure_streams": [stream]},
        before=before,
        messages=[tk.schema(stream), *requests, tk.state(len(requests) - 1)],
        truth=truth,
        closes_input=True,
        holds={
            "before-taken": None,
            "after-taken": Hold("DELETE", after=0),
            # No read before an erasure's DELETE: the step does not exist there.
            "after-put": Hold("DELETE", after=1),
            "before-state": Hold("DELETE", after=len(erased) - 1, phase="after"),
        },
    )


SCENARIOS: dict[str, t.Callable[[], Scenario]] = {
    "event": lambda: _event_like("event"),
    "cdc": lambda: _event_like("cdc"),
    "snapshot": lambda: _event_like("snapshot"),
    "mirror": _mirror,
    "erasure": _erasure,
}
STEPS = ["before-taken", "after-taken", "between-get-put", "after-put", "before-state"]
PATTERNS = ["one", "two", "burst"]
CASES = [
    pytest.param(kind, step, pattern, id=f"{kind}-{step}-{pattern}")
    for kind, make in SCENARIOS.items()
    for step in STEPS
    if step in make().holds
    for pattern in PATTERNS
]


def _current(emu: EmulatorServer, uid: str) -> Segments | None:
    user = emu.emulator.store.get(uid)
    if user is None:
        return None
    return frozenset((s["id"], s["source"]) for s in user.get("segments") or [])


def _wrong(emu: EmulatorServer, truth: dict[str, Segments | None]) -> list[str]:
    return sorted(uid for uid, want in truth.items() if _current(emu, uid) != want)


def _covered(scenario: Scenario, bookmark: int) -> dict[str, Segments | None]:
    """The users a STATE with ``bookmark`` vouches for.

    Event-like runs: the users of the records up to it. Mirror and erasure
    runs hold STATE until the whole plan is applied: every user.
    """
    if scenario.closes_input:
        return scenario.truth
    users = list(scenario.truth)[: bookmark + 1]
    return {uid: scenario.truth[uid] for uid in users}


def _send(run: SignalledRun, pattern: str) -> None:
    if pattern == "one":
        run.signal(signal.SIGTERM)
    elif pattern == "two":
        run.signal(signal.SIGTERM)
        time.sleep(0.01)
        run.signal(signal.SIGINT)
    else:
        sigterm_burst_after_sigint(run, every=0.002, count=50)


def _replay(scenario: Scenario, states: list[t.Any]) -> list[dict]:
    """What Meltano feeds the next run: the input after the last STATE stored."""
    if not states:
        return scenario.messages
    cut = scenario.messages.index(tk.state(states[-1]["bookmark"])) + 1
    return [scenario.messages[0], *scenario.messages[cut:]]


@pytest.mark.parametrize(("kind", "step", "pattern"), CASES)
def test_a_signal_at_any_step_leaves_state_only_for_written_work(
    kind: str, step: str, pattern: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    scenario = SCENARIOS[kind]()
    for uid, segments in scenario.before.items():
        tk.put_user(emu, uid, segments)
    config = tk.base_config(
        emu,
        concurrency=1,
        max_wait_seconds=3600,  # only a full batch or the end of input starts a write
        request_timeout=30,  # a held call is not a timeout
        **scenario.config,
    )
    hold = scenario.holds[step]
    hold_id = (
        emu.admin.hold_request(method=hold.method, after=hold.after, phase=hold.phase)
        if hold is not None
        else None
    )
    late: list[str] = []

    def check_state(value: dict[str, t.Any]) -> None:
        late.extend(_wrong(emu, _covered(scenario, value["bookmark"])))

    run = SignalledRun(config, tmp_path, on_state=check_state)
    run.feed(scenario.messages)
    if scenario.closes_input and step != "before-taken":
        run.close_input()
    if step == "before-taken" and not scenario.closes_input:
        wait_until(lambda: run.log().count("is full. Current size") >= 2, "the second full batch")
    elif step == "before-taken":
        run.wait_input_taken()
    else:
        assert hold_id is not None
        assert emu.admin.wait_for_hold(hold_id, timeout=20), f"no call reached {step}:\n{run.log()}"
    _send(run, pattern)
    run.exited_within(0.3)
    emu.admin.release_holds()
    code = run.finish(timeout=20)

    # 1. Every STATE printed vouched only for written work, at the moment it appeared.
    assert late == [], f"a STATE was printed before these were written: {sorted(set(late))}"
    # 2. Work left undone is never a green run.
    remaining = _wrong(emu, scenario.truth)
    if remaining:
        assert code != 0, f"exit 0 with work remaining for {remaining}:\n{run.log()[-3000:]}"
    # 3. The rerun Meltano would start converges to the truth.
    rerun = tk.run_in_process(config, _replay(scenario, run.states))
    assert rerun.error is None, rerun.error
    assert _wrong(emu, scenario.truth) == []
