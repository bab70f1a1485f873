"""The STATE gate: a STATE leaves only when every record before it is applied or rejected.

Unit cases of :class:`target_algolia.state_gate.StateGate` (records,
the batch lifecycle taken/writing/written, held work, signals), then a
stateful property test that drives the gate through every order of those
steps, with one signal, two or a burst landing at any of them, and checks
after each step that no STATE has left whose records are not all applied or
rejected, and at the end that a run with work left never exits 0.
"""

from __future__ import annotations

import contextlib
import signal
import typing as t

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from target_algolia.state_gate import GateClosedError, SignalAction, StateGate

if t.TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from target_algolia.state_gate import Batch


class Run:
    """A gate with a latest STATE and a list of the STATEs it emitted."""

    def __init__(self) -> None:
        self.latest: dict | None = None
        self.emitted: list[dict] = []
        self.gate = StateGate(latest=lambda: self.latest, emit=self.emitted.append)


def test_a_state_waits_for_the_batch_before_it_to_be_written() -> None:
    run = Run()
    run.gate.accepted(3)
    run.latest = {"bookmark": 3}
    assert not run.gate.offer()
    assert run.gate.held() == "3 records are not written yet"
    batch = run.gate.take(3)
    with run.gate.writing(batch):
        assert not run.gate.offer()
        assert run.emitted == []
    # Written: the gate itself offers the latest STATE.
    assert run.emitted == [{"bookmark": 3}]


def test_the_same_state_is_emitted_once() -> None:
    run = Run()
    run.latest = {"bookmark": 1}
    assert run.gate.offer()
    assert not run.gate.offer({"bookmark": 1})
    assert run.emitted == [{"bookmark": 1}]


def test_a_batch_that_fails_closes_the_gate_for_the_rest_of_the_run() -> None:
    run = Run()
    run.gate.accepted(2)
    run.latest = {"bookmark": 2}
    batch = run.gate.take(2)
    with pytest.raises(RuntimeError), run.gate.writing(batch):
        raise RuntimeError("PUT failed")
    assert run.gate.closed == "the batch was not written in full"
    assert not run.gate.offer()
    with pytest.raises(GateClosedError):
        run.gate.take(0)
    assert run.emitted == []


def test_a_batch_taken_but_never_written_holds_state_for_good() -> None:
    run = Run()
    run.gate.accepted(1)
    run.gate.take(1)
    run.latest = {"bookmark": 1}
    assert not run.gate.offer()
    assert run.gate.held() == "a batch is being written"


def test_a_signal_once_a_batch_is_taken_stops_without_state() -> None:
    run = Run()
    run.gate.accepted(1)
    run.latest = {"bookmark": 1}
    run.gate.take(1)  # the pending list may already be empty here
    assert run.gate.on_signal(signal.SIGTERM) is SignalAction.STOP
    assert not run.gate.offer()
    assert run.emitted == []


def test_the_first_signal_between_batches_drains_and_a_second_stops() -> None:
    run = Run()
    run.gate.accepted(1)
    run.latest = {"bookmark": 1}
    assert run.gate.on_signal(signal.SIGINT) is SignalAction.DRAIN
    batch = run.gate.take(1)
    # A burst: the next signal lands while the drain writes; the run ends as that stop.
    with pytest.raises(SystemExit), run.gate.writing(batch):
        assert run.gate.on_signal(signal.SIGTERM) is SignalAction.STOP
    assert run.gate.closed == "the run was stopped by a signal"
    assert run.emitted == []


def test_signals_after_a_stop_change_nothing() -> None:
    run = Run()
    run.gate.accepted(1)
    run.gate.take(1)
    assert run.gate.on_signal(signal.SIGINT) is SignalAction.STOP
    # A burst: raising again would break the first stop's unwinding.
    assert run.gate.on_signal(signal.SIGTERM) is SignalAction.ALREADY_STOPPING
    assert run.gate.on_signal(signal.SIGTERM) is SignalAction.ALREADY_STOPPING
    assert run.gate.closed == "the run was stopped by a signal"


class WorkerStopped(Exception):
    """Stands for what a worker raises once the stop has shut the pacer."""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_whose_own_exit_was_lost_still_ends_as_that_stop(signum: int) -> None:
    # A handler that runs inside a garbage-collection finaliser raises into
    # nothing; the batch then ends with the workers' error, not the SystemExit.
    run = Run()
    run.gate.accepted(1)
    batch = run.gate.take(1)
    with pytest.raises(SystemExit) as stop, run.gate.writing(batch):  # noqa: PT012
        assert run.gate.on_signal(signum) is SignalAction.STOP
        raise WorkerStopped
    assert stop.value.code == 128 + signum
    assert run.emitted == []


def test_a_stop_whose_exit_was_lost_while_its_batch_finished_still_ends_as_that_stop() -> None:
    # The batch's last write was done when the signal came; its handler's exit
    # was lost; the block ends well. The run must not go on, nor emit STATE.
    run = Run()
    run.gate.accepted(1)
    run.latest = {"bookmark": 1}
    batch = run.gate.take(1)
    with pytest.raises(SystemExit) as stop, run.gate.writing(batch):
        assert run.gate.on_signal(signal.SIGTERM) is SignalAction.STOP
    assert stop.value.code == 128 + signal.SIGTERM
    assert run.emitted == []
    with pytest.raises(SystemExit):
        run.gate.take(0, "mirror plan")


def test_a_failure_with_no_stop_signal_stays_that_failure() -> None:
    run = Run()
    run.gate.accepted(1)
    batch = run.gate.take(1)
    with pytest.raises(WorkerStopped), run.gate.writing(batch):
        raise WorkerStopped
    assert run.gate.closed is not None


def test_held_work_keeps_state_and_is_named_as_work_left() -> None:
    run = Run()
    run.gate.hold("mirror plan")
    run.gate.hold("erasure")
    run.latest = {"bookmark": 1}
    assert not run.gate.offer()
    assert run.gate.work_remains() == "the erasure and the mirror plan must be applied first"
    with run.gate.applying("erasure"):
        pass
    assert run.gate.work_remains() == "the mirror plan must be applied first"
    assert run.emitted == []
    with run.gate.applying("mirror plan"):
        assert run.gate.held() == "a mirror plan is being written"
    assert run.emitted == [{"bookmark": 1}]


def test_a_condition_holds_state_while_it_gives_a_reason() -> None:
    run = Run()
    over = [True]
    run.gate.hold_while(lambda: "too many rejects" if over[0] else None)
    run.latest = {"bookmark": 1}
    assert not run.gate.offer()
    assert not run.gate.state_waiting()
    over[0] = False
    assert run.gate.state_waiting()
    assert run.gate.offer()


def test_a_signal_while_a_state_line_is_written_acts_once_the_line_is_whole() -> None:
    acted: list[tuple[int, list[dict]]] = []
    run = Run()

    def emit(state: dict) -> None:
        # The signal lands in the middle of the write.
        assert run.gate.on_signal(signal.SIGTERM) is SignalAction.DEFER
        run.emitted.append(state)

    run.gate = StateGate(latest=lambda: run.latest, emit=emit)
    run.gate.on_deferred_signal = lambda signum: acted.append((signum, list(run.emitted)))
    run.latest = {"bookmark": 1}
    assert run.gate.offer()
    assert acted == [(signal.SIGTERM, [{"bookmark": 1}])]


# The stateful property test ---------------------------------------------------


class RunEnded(SystemExit):
    """The target's exit: a SystemExit, as handle_stop_signal raises it."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class GateMachine(RuleBasedStateMachine):
    """A run as the target drives the gate, with signals landing between any two steps.

    The model keeps its own account of each record (rejected on arrival,
    pending, in the batch being written, PUT, or collected for held work) and
    of the records read before each STATE; the gate is never asked what the
    model knows.
    """

    def __init__(self) -> None:
        super().__init__()
        self.latest: dict | None = None
        self.emitted: list[dict] = []
        self.gate = StateGate(latest=lambda: self.latest, emit=self._emit)
        self.gate.on_deferred_signal = self._deferred
        self.read = 0
        self.settled: set[int] = set()
        self.pending: list[int] = []
        self.batch_records: list[int] = []
        self.batch: Batch | None = None
        self.writing: AbstractContextManager[Batch] | None = None
        self.held: dict[str, list[int]] = {}
        self.over_bound = False
        self.bound = False
        self.exit_code: int | None = None
        self.signal_in_emit = False
        self.deferred_acted = 0
        #: A first signal's drain, noted by the handler and done at a safe point.
        self.stop_requested: int | None = None

    # The run's shape ----------------------------------------------------------

    @initialize(mirror=st.booleans(), erasure=st.booleans(), bound=st.booleans())
    def configure(self, mirror: bool, erasure: bool, bound: bool) -> None:
        for what, on in (("mirror plan", mirror), ("erasure", erasure)):
            if on:
                self.gate.hold(what)
                self.held[what] = []
        self.bound = bound  # max_rejected_fraction below 1 (at 1 nothing is ever over it)
        if bound:
            self.gate.hold_while(lambda: "reject bound" if self.over_bound else None)

    def _emit(self, state: dict) -> None:
        if self.signal_in_emit:
            self.signal_in_emit = False
            assert self.gate.on_signal(signal.SIGTERM) is SignalAction.DEFER
        self.emitted.append(state)

    def _deferred(self, signum: int) -> None:
        self.deferred_acted += 1
        self._handle_signal(signum)

    @property
    def running(self) -> bool:
        return self.exit_code is None

    def _end(self, code: int) -> None:
        if self.exit_code is None:
            self.exit_code = code
        raise RunEnded(code)

    def _step(self, action: t.Callable[[], None]) -> None:
        """Run one step of the target; a signal that ends the run ends it here."""
        with contextlib.suppress(RunEnded):
            action()

    # Input ----------------------------------------------------------------------

    @precondition(lambda self: self.running)
    @rule(kind=st.sampled_from(["accepted", "rejected", "mirror plan", "erasure"]))
    def record(self, kind: str) -> None:
        index = self.read
        self.read += 1
        if kind == "rejected":
            self.settled.add(index)  # rejected with a reason on arrival
        elif kind in self.held:
            self.held[kind].append(index)
        else:
            self.gate.accepted()
            self.pending.append(index)

    @precondition(lambda self: self.running)
    @rule()
    def state(self) -> None:
        self.latest = {"read_before": self.read}

    @precondition(lambda self: self.running and self.bound)
    @rule(over=st.booleans())
    def reject_share_moves(self, over: bool) -> None:
        self.over_bound = over

    # The batch lifecycle ------------------------------------------------------

    @precondition(lambda self: self.running and self.batch is None)
    @rule()
    def take(self) -> None:
        # As the writer does: the gate first, then the pending list is emptied.
        self.batch = self.gate.take(len(self.pending))
        self.batch_records, self.pending = self.pending, []

    @precondition(lambda self: self.running and self.batch is not None and self.writing is None)
    @rule()
    def start_writing(self) -> None:
        assert self.batch is not None
        self.writing = self.gate.writing(self.batch)
        self.writing.__enter__()

    @precondition(lambda self: self.running and self.writing is not None)
    @rule(data=st.data())
    def put(self, data: st.DataObject) -> None:
        """Some users' PUTs (or rejects) finish while the batch is being written."""
        unput = [i for i in self.batch_records if i not in self.settled]
        if unput:
            self.settled.update(data.draw(st.sets(st.sampled_from(unput))))

    @precondition(lambda self: self.running and self.writing is not None)
    @rule(signal_in_emit=st.booleans())
    def written(self, signal_in_emit: bool) -> None:
        self.settled.update(self.batch_records)
        self.signal_in_emit = signal_in_emit
        writing, self.writing, self.batch = self.writing, None, None
        assert writing is not None
        self._step(lambda: writing.__exit__(None, None, None))
        self.signal_in_emit = False

    @precondition(lambda self: self.running and self.writing is not None)
    @rule()
    def batch_fails(self) -> None:
        writing, self.writing = self.writing, None
        assert writing is not None
        error = RuntimeError("a PUT failed")
        # The gate lets the error through (False: not swallowed) after closing.
        assert writing.__exit__(RuntimeError, error, None) is False
        self.exit_code = 1  # the error ends the run (the CLI exits 1)

    # Signals and the end of input ---------------------------------------------

    @precondition(lambda self: self.running)
    @rule(burst=st.integers(min_value=1, max_value=4), second_at=st.integers(0, 3))
    def signals(self, burst: int, second_at: int) -> None:
        """One signal, or a burst whose second lands at step ``second_at`` of the drain."""
        self._burst_left = burst - 1
        self._second_at = second_at
        self._step(lambda: self._handle_signal(signal.SIGTERM))

    def _maybe_next_signal(self, step: int) -> None:
        if getattr(self, "_burst_left", 0) and step == self._second_at:
            self._burst_left -= 1
            self._handle_signal(signal.SIGINT)

    def _handle_signal(self, signum: int) -> None:
        """What TargetAlgolia.handle_stop_signal does with the gate's answer."""
        action = self.gate.on_signal(signum)
        if action in (SignalAction.DEFER, SignalAction.ALREADY_STOPPING):
            return
        if action is SignalAction.STOP:
            self._end(128 + signum)
        # DRAIN: the handler only notes it (target_algolia.input.stop_request);
        # the run goes on until its main thread reaches a safe point.
        if self.stop_requested is None:
            self.stop_requested = signum

    def _act_on_stop_request(self) -> None:
        """A safe point: the requested drain, then the stop's exit (never 0)."""
        signum, self.stop_requested = self.stop_requested, None
        if signum is not None:
            self._drain(interrupt=True)
            self._end(128 + signum)

    @precondition(
        lambda self: self.running and self.batch is None and self.stop_requested is not None
    )
    @rule()
    def safe_point(self) -> None:
        """The main thread is between two input lines (or waits for input)."""
        self._step(self._act_on_stop_request)

    def _drain(self, *, interrupt: bool = False) -> None:
        """singer-sdk's drain_all: write the pending batch, then offer the latest STATE."""
        if interrupt:
            self._maybe_next_signal(0)
        batch = self.gate.take(len(self.pending))
        self.batch_records, self.pending = self.pending, []
        if interrupt:
            self._maybe_next_signal(1)
        with self.gate.writing(batch):
            if interrupt:
                self._maybe_next_signal(2)
            self.settled.update(self.batch_records)
        if interrupt:
            self._maybe_next_signal(3)
        self.gate.offer()

    @precondition(lambda self: self.running and self.batch is None)
    @rule()
    def end_of_input(self) -> None:
        def finish() -> None:
            self._drain()
            self._act_on_stop_request()  # the target checks between the end's steps
            for what in ("erasure", "mirror plan"):
                if what in self.held:
                    with self.gate.applying(what):
                        self.settled.update(self.held.pop(what))
                    self._act_on_stop_request()
            failed = self.over_bound or self.gate.work_remains() is not None
            self._end(1 if failed else 0)

        self._step(finish)

    @precondition(lambda self: not self.running)
    @rule()
    def after_the_end(self) -> None:
        """Once the run has ended, whatever it was told, nothing more leaves unless it is due."""
        self.gate.offer()

    @precondition(lambda self: self.exit_code not in (None, 0))
    @rule()
    def signal_while_stopping(self) -> None:
        """A burst: another signal lands while a stopped run unwinds; it stays a failure."""
        code = self.exit_code
        with contextlib.suppress(RunEnded):
            self._handle_signal(signal.SIGTERM)
        assert self.exit_code == code
        assert self.gate.closed is not None or self.gate.work_remains() is not None

    # What must hold -----------------------------------------------------------

    @invariant()
    def no_state_before_its_records_are_settled(self) -> None:
        for state in self.emitted:
            before = range(state["read_before"])
            assert all(i in self.settled for i in before), (state, sorted(self.settled))

    @invariant()
    def a_run_with_work_left_never_exits_0(self) -> None:
        if self.exit_code != 0:
            return
        assert not self.pending
        assert not self.held
        assert not self.over_bound
        assert all(i in self.settled for i in range(self.read))
        # ...and it ends with the STATE of that work.
        if self.latest:
            assert self.emitted
            assert self.emitted[-1] == self.latest

    @invariant()
    def nothing_is_emitted_after_a_stop(self) -> None:
        if self.gate.closed is not None:
            assert not self.gate.offer()


GateMachine.TestCase.settings = settings(
    max_examples=400,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_the_gate_under_every_order_of_steps_and_signals = GateMachine.TestCase
