"""The STATE gate: the one place that decides whether a STATE may leave, and the one that sends it.

The rule: **a STATE leaves only when every record read before it has been
applied or rejected with a reason.** Nothing else in the target writes STATE;
both paths that want to (singer-sdk's ``drain_all`` and the target's own
emits after a batch, a mirror plan or an erasure) offer it here.

The gate knows what is unsettled because every piece of work passes through
it:

- **records**: the writer reports each record it accepts into its pending
  batch (:meth:`StateGate.accepted`); a record rejected on arrival is settled
  at once and never counted;
- **the batch**: its lifecycle is explicit. :meth:`StateGate.take` marks a
  batch *taken* before the writer empties its pending list, so no batch can
  leave that list without the gate knowing; :meth:`Batch.writing` and
  :meth:`Batch.written` follow. Only *written* settles the batch's records. A
  batch that ends any other way (an error, a signal) latches the gate shut:
  no STATE leaves for the rest of the run;
- **held work**: a pending mirror plan or erasure (:meth:`StateGate.hold`,
  released once applied), and any condition that holds STATE while it is true
  (:meth:`StateGate.hold_while`: the reject-share bound).

A stop signal ends the run in one of two ways, decided by
:meth:`StateGate.on_signal`: the first signal between batches writes what is
pending (singer-sdk's drain) and lets out the STATE of that fully written
work, unless work is held; a signal while a batch, a mirror plan or an
erasure is being written, or any later signal, stops at once and latches the
gate shut: no STATE (once that stop is under way, further signals change
nothing). The target exits non-zero either way (the run was
stopped before its input ended). A signal that lands while a STATE line is
being written waits until the line is whole.

Everything here runs in the main thread (workers only write profiles), and a
signal handler runs in the main thread between two bytecodes: each change of
the gate is one assignment made *before* the action it announces, so a
handler never sees work that has left one place without arriving in another.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Iterator


class Step(enum.Enum):
    """Where the batch (or the held work) being written stands."""

    TAKEN = "taken"
    WRITING = "writing"
    WRITTEN = "written"


class SignalAction(enum.Enum):
    """What a stop signal must do, given where the run stands."""

    #: Between batches, first signal: write what is pending, let its STATE out, then exit.
    DRAIN = "drain"
    #: Work is being written, or a signal came before: no STATE, exit at once.
    STOP = "stop"
    #: A STATE line is being written: act once it is whole.
    DEFER = "defer"
    #: A stop is already unwinding the run: raising again would only break its
    #: unwinding (a second exception inside the first one's lock release).
    ALREADY_STOPPING = "already stopping"


class UnfinishedWorkError(Exception):
    """The input ended with work the gate still counts as unsettled or held."""


class GateClosedError(Exception):
    """A batch was taken after the gate latched shut (a stop or a failed write)."""


@dataclass
class Batch:
    """One batch (or one piece of held work) from taken to written."""

    gate: StateGate
    records: int
    what: str
    step: Step = Step.TAKEN

    def writing(self) -> None:
        self.step = Step.WRITING

    def written(self) -> None:
        """Every record of the batch is applied or rejected: they are settled."""
        self.step = Step.WRITTEN
        self.gate.settle(self)


class StateGate:
    """The one writer of STATE; see the module docstring for the rule."""

    def __init__(
        self,
        *,
        latest: t.Callable[[], dict | None],
        emit: t.Callable[[dict], None],
    ) -> None:
        #: The latest STATE read from the input (singer-sdk keeps it).
        self._latest = latest
        #: Writes one STATE line (SDKInternalsTarget.write_state: numbers as they were read).
        self._emit = emit
        self._last_emitted: dict | None = None
        #: Records accepted into a pending batch and not yet settled.
        self._unsettled = 0
        #: The batch or held work being written, if any.
        self._in_flight: Batch | None = None
        #: Named work that holds STATE until released (mirror plan, erasure).
        self._holds: set[str] = set()
        #: Conditions that hold STATE while they return a reason (reject bound).
        self._conditions: list[t.Callable[[], str | None]] = []
        #: Why the gate latched shut (no STATE for the rest of the run), if it did.
        self._closed: str | None = None
        #: A stop signal was received (the first one drains, the next ones stop).
        self._stopping = False
        #: The signal that stopped the run at once (the stop is unwinding), if one did.
        self._stopped_by: int | None = None
        #: A STATE line is being written; a signal meanwhile is deferred here.
        self._emitting = False
        self._deferred_signal: int | None = None
        #: Called with a deferred signal once the STATE line is whole.
        self.on_deferred_signal: t.Callable[[int], None] | None = None
        self.emitted_count = 0

    # What the gate is told ------------------------------------------------------

    def accepted(self, records: int = 1) -> None:
        """``records`` entered the pending batch: STATE waits until they are written."""
        self._unsettled += records

    def take(self, records: int, what: str = "batch") -> Batch:
        """The pending batch (``records`` records) is about to leave the pending list.

        Called *before* the writer empties its list: from here until
        :meth:`Batch.written`, a signal stops the run without STATE.
        """
        self.raise_if_stopped()
        if self._closed is not None:
            raise GateClosedError(self._closed)
        batch = Batch(self, records, what)
        self._in_flight = batch
        return batch

    @contextlib.contextmanager
    def writing(self, batch: Batch) -> Iterator[Batch]:
        """Mark ``batch`` writing; written when the block ends, closed if it raises."""
        try:
            batch.writing()
            yield batch
        except BaseException as error:
            self.close(f"the {batch.what} was not written in full")
            if self._stopped_by is not None and isinstance(error, Exception):
                # A stop's own SystemExit can be lost: a handler that runs inside a
                # callback whose exceptions Python ignores (a garbage-collection
                # finaliser) raises into nothing, and the workers then end with
                # PacingStopped. The run still ends as the stop it was. (Only an
                # Exception: a SystemExit is the stop itself, and a GeneratorExit
                # is this block being closed, never a failure.)
                raise SystemExit(128 + self._stopped_by) from None
            raise
        batch.written()
        self.raise_if_stopped()  # the block ended well, but a stop came meanwhile

    def raise_if_stopped(self) -> None:
        """Exit as the stop did (128 + its signal) if a signal stopped the run.

        The stop's handler raises that SystemExit itself; this makes sure of it
        where the handler's exception may have been lost (it ran inside a
        callback whose exceptions Python ignores, such as a finaliser), so a
        stopped run never goes on to more work nor ends in another error.
        """
        if self._stopped_by is not None:
            raise SystemExit(128 + self._stopped_by)

    @contextlib.contextmanager
    def applying(self, what: str) -> Iterator[None]:
        """Write the held work ``what`` (taken, writing, written), then release its hold."""
        with self.writing(self.take(0, what)):
            yield
        self.release(what)

    def hold(self, what: str) -> None:
        """Hold STATE until :meth:`release` (work collected now, applied at end of input)."""
        self._holds.add(what)

    def release(self, what: str) -> None:
        """The held work is applied: offer the latest STATE."""
        self._holds.discard(what)
        self.offer()

    def hold_while(self, condition: t.Callable[[], str | None]) -> None:
        """Hold STATE whenever ``condition`` returns a reason (checked at each offer)."""
        self._conditions.append(condition)

    def close(self, why: str) -> None:
        """Latch shut: no STATE leaves for the rest of the run (the first reason is kept)."""
        if self._closed is None:
            self._closed = why

    def settle(self, batch: Batch) -> None:
        """``batch`` is written: its records are settled; offer the latest STATE."""
        if self._in_flight is batch:
            self._in_flight = None
        self._unsettled -= batch.records
        self.offer()

    # What the gate answers ------------------------------------------------------

    def held(self) -> str | None:
        """Why STATE may not leave now (None: it may). One answer for every STATE path."""
        if self._closed is not None:
            return self._closed
        if self._in_flight is not None:
            return f"a {self._in_flight.what} is being written"
        if self._unsettled:
            return f"{self._unsettled} records are not written yet"
        if self._holds:
            return f"the {' and the '.join(sorted(self._holds))} must be applied first"
        for condition in self._conditions:
            reason = condition()
            if reason:
                return reason
        return None

    def work_remains(self) -> str | None:
        """What is left undone (None: all accepted work is settled and nothing is held)."""
        return self.held()

    @property
    def closed(self) -> str | None:
        return self._closed

    @property
    def in_flight(self) -> Batch | None:
        return self._in_flight

    def state_waiting(self) -> bool:
        """A STATE was read that may leave now and has not (max_wait acts on it)."""
        latest = self._latest()
        return bool(latest) and latest != self._last_emitted and self.held() is None

    # The one writer of STATE ---------------------------------------------------

    def offer(self, state: dict | None = None) -> bool:
        """Emit ``state`` (default: the latest read) if the rule allows; True if emitted."""
        if state is None:
            state = self._latest()
        if not state or state == self._last_emitted or self.held() is not None:
            return False
        state = copy.deepcopy(state)
        self._emitting = True
        try:
            self._emit(state)
            # Before the flag drops: a signal from here on sees it sent.
            self._last_emitted = state
        finally:
            self._emitting = False
        self.emitted_count += 1
        deferred, self._deferred_signal = self._deferred_signal, None
        if deferred is not None and self.on_deferred_signal is not None:
            self.on_deferred_signal(deferred)
        return True

    # Signals ------------------------------------------------------------------

    def on_signal(self, signum: int) -> SignalAction:
        """What the stop signal ``signum`` must do now (and note that it came)."""
        if self._emitting:
            self._deferred_signal = signum
            return SignalAction.DEFER
        if self._stopped_by is not None:
            return SignalAction.ALREADY_STOPPING
        if self._stopping or self._in_flight is not None:
            self.close("the run was stopped by a signal")
            self._stopped_by = signum
            return SignalAction.STOP
        self._stopping = True
        return SignalAction.DRAIN
