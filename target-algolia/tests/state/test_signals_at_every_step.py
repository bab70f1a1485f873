"""A stop signal at every step of a batch: the STATE of written work, or none and exit 1.

The real target, in this process, against the emulator: real SIGTERM/SIGINT
signals are sent to the main thread at one step of the batch lifecycle
(before the batch is taken, once it is taken, between a GET and its PUT,
after the PUT, before the STATE), one signal or two in a burst, on the first
or the second batch, in event, snapshot, mirror and erasure runs. Every case
checks that no STATE was emitted before the profiles of the records it
covers were written, that a run that stopped with work left did not exit 0,
and that a rerun from the last emitted STATE brings every profile to its
true state.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import threading
import typing as t

import pytest

from algolia_testkit.target_runs import (
    base_config,
    event,
    put_user,
    record,
    schema,
    snapshot,
    state,
    to_lines,
)
from target_algolia import target as target_module
from target_algolia.target import TargetAlgolia

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer

M = "meltano"
USERS = [f"u{n}" for n in range(6)]
STEPS = ["before_take", "after_take", "between_get_and_put", "after_put", "before_state"]


class Kind(t.NamedTuple):
    config: dict[str, t.Any]
    messages: list[dict]
    #: user -> the segments the profile must hold once the run's work is done
    truth: dict[str, list[tuple[str, str]] | None]


def _kind(name: str) -> Kind:
    """The input of one kind of run: each record followed by a STATE naming its position."""
    if name in ("event", "snapshot"):
        rows = [event(u, "vip") if name == "event" else snapshot(u, ["vip"]) for u in USERS]
        messages: list[dict] = [schema()]
        for n, row in enumerate(rows):
            messages += [row, state(n + 1)]
        return Kind({"batch_size_rows": 3}, messages, {u: [("vip", M)] for u in USERS})
    if name == "mirror":
        members = USERS[:4]
        rows = [record({"algolia_user_id": u, "segments": ["vip"], "n": 4}, "m") for u in members]
        messages = [schema("m")]
        for n, row in enumerate(rows):
            messages += [row, state(n + 1)]
        config = {
            "mirror_streams": [{"stream": "m", "audiences": ["vip"], "count_field": "n"}],
            "mirror_max_removal_fraction": 1,
        }
        truth = {u: ([("vip", M)] if u in members else []) for u in USERS}
        return Kind(config, messages, truth)
    erased = USERS[:3]
    messages = [schema("erase")]
    for n, u in enumerate(erased):
        messages += [record({"algolia_user_id": u}, "erase"), state(n + 1)]
    truth = {u: (None if u in erased else [("vip", M)] if u == "u5" else []) for u in USERS}
    return Kind({"erasure_streams": ["erase"]}, messages, truth)


def _seed(emu: EmulatorServer, kind: str) -> None:
    for u in USERS:
        # A mirror run must take vip from the profiles that are not members.
        put_user(emu, u, [("vip", M)] if kind == "mirror" or u == "u5" else [])


def _profile(emu: EmulatorServer, user: str) -> list[tuple[str, str]] | None:
    """The profile's segments, or None if it is gone (read once: a DELETE may be landing)."""
    profile = emu.admin.get_user(user)
    if profile is None:
        return None
    return [(s["id"], s["source"]) for s in profile.get("segments") or []]


class Signaller:
    """Sends ``count`` real signals to the main thread the ``occurrence``-th time a step is hit."""

    def __init__(self, count: int, occurrence: int) -> None:
        self.count = count
        self.occurrence = occurrence
        self.hits = 0
        self.sent = 0
        self._lock = threading.Lock()

    def hit(self) -> None:
        with self._lock:
            self.hits += 1
            if self.hits != self.occurrence:
                return
        main = threading.main_thread().ident
        assert main is not None
        for signum in (signal.SIGTERM, signal.SIGINT)[: self.count]:
            self.sent += 1
            signal.pthread_kill(main, signum)


def _install(target: TargetAlgolia, step: str, signaller: Signaller) -> None:
    """Wrap the methods the step sits between (on this target's objects only)."""
    run = target.run
    gate = run.gate
    if step == "before_take":
        flush = type(run.writer).flush
        writer = run.writer

        def flush_after_signal() -> None:
            signaller.hit()
            flush(writer)

        writer.flush = flush_after_signal  # type: ignore[method-assign]
    elif step == "after_take":
        take = gate.take

        def take_then_signal(records: int, what: str = "batch") -> t.Any:
            batch = take(records, what)
            signaller.hit()
            return batch

        gate.take = take_then_signal  # type: ignore[method-assign]
    elif step == "before_state":
        offer = gate.offer

        def signal_then_offer(state: dict | None = None) -> bool:
            signaller.hit()
            return offer(state)

        gate.offer = signal_then_offer  # type: ignore[method-assign]
    else:
        client = run.writer.client
        before = step == "between_get_and_put"
        for name in ("put_segments", "delete_user"):
            call = getattr(client, name)

            def wrapped(*args: t.Any, _call: t.Any = call, **kwargs: t.Any) -> t.Any:
                if before:
                    signaller.hit()
                answer = _call(*args, **kwargs)
                if not before:
                    signaller.hit()
                return answer

            setattr(client, name, wrapped)


def _run(
    config: dict[str, t.Any], messages: list[dict], step: str | None, signaller: Signaller | None
) -> tuple[int | None, list[dict]]:
    """(exit code, or None if the run ended by itself; the STATEs emitted)."""
    target = TargetAlgolia(config=config)
    if step is not None and signaller is not None:
        _install(target, step, signaller)
    out = io.StringIO()
    code: int | None = None
    with contextlib.redirect_stdout(out):
        try:
            target.listen(io.StringIO(to_lines(messages)))
        except SystemExit as stop:
            code = int(stop.code or 0)
    return code, [line for line in map(_state_of, out.getvalue().splitlines()) if line]


def _state_of(line: str) -> dict:
    return json.loads(line) if line.strip() else {}


@pytest.fixture(autouse=True)
def _no_hard_exit(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach only the main thread, where the target installs its handler")
    # The stop's watchdog would end this test process; the workers here are quick.
    monkeypatch.setattr(target_module, "_exit_if_still_running_after", lambda *_: None)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGTERM, handlers[0])
    signal.signal(signal.SIGINT, handlers[1])


@pytest.mark.parametrize("occurrence", [1, 2], ids=["first", "second"])
@pytest.mark.parametrize("signals", [1, 2], ids=["one-signal", "burst"])
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("kind", ["event", "snapshot", "mirror", "erasure"])
def test_a_signal_at_any_step_leaves_written_state_or_none_and_a_failure(
    emu: EmulatorServer, kind: str, step: str, signals: int, occurrence: int
) -> None:
    _seed(emu, kind)
    spec = _kind(kind)
    config = base_config(emu, concurrency=2, **spec.config)
    signaller = Signaller(signals, occurrence)
    code, states = _run(config, spec.messages, step, signaller)
    # Which users each STATE covers: the records before it in the input.
    covered: dict[int, list[str]] = {}
    seen: list[str] = []
    for message in spec.messages:
        if message["type"] == "RECORD":
            seen.append(message["record"]["algolia_user_id"])
        elif message["type"] == "STATE":
            covered[message["value"]["bookmark"]] = list(seen)
    done = {u for u in USERS if _profile(emu, u) == spec.truth[u]}
    for emitted in states:
        assert set(covered[emitted["bookmark"]]) <= done, (emitted, sorted(done))
    if signaller.sent == 0:
        assert code is None  # the step never came: the run ended by itself
    else:
        # Stopped before the end of its input: never a success.
        assert code in (128 + signal.SIGTERM, 128 + signal.SIGINT)
    if code is None:
        # Nothing was left: every profile is as the input says, and the last STATE is out.
        assert done == set(USERS)
        assert states
        assert states[-1] == spec.messages[-1]["value"]
    # A rerun from the last STATE emitted converges.
    last = states[-1]["bookmark"] if states else 0
    rest = spec.messages
    if last:
        at = next(i for i, m in enumerate(spec.messages) if m.get("value") == {"bookmark": last})
        rest = [spec.messages[0], *spec.messages[at + 1 :]]
    rerun_code, _ = _run(config, rest, None, None)
    assert rerun_code is None
    assert {u: _profile(emu, u) for u in USERS} == spec.truth
