"""A first stop signal's drain is done by the main thread at a safe point, never by the handler.

The rule: the signal handler only asks the STATE gate what the signal means
and notes the request; the work a first signal between batches asks for
(write what is pending, let its STATE out, exit 128 + the signal) is done by
the main thread at its next *safe point*, where it holds no lock and waits
for no one:

- between two input lines (the previous line, and any batch it filled, is done);
- while it waits for input (the handler wakes it through a pipe, so an
  input left open does not keep the request waiting);
- between the steps at the end of the input (the last batch, the erasure,
  the mirror plan).

Why not in the handler: a handler runs in the main thread between two
bytecodes, wherever that thread is. Writing a batch from there means waiting
for worker threads while the main thread may hold a lock those workers need:
right after the "Target sink ... is full" log line it still holds the log
handler's lock, and every worker that logs a skipped user then waits on it
for ever. A fresh-clone CI run hung that way for 240 s.

A signal while a batch is being written (or any later signal) still stops at
once from the handler: that stop only aborts the workers and raises, it
waits for nothing.
"""

from __future__ import annotations

import contextlib
import os
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterator


class StopRequest:
    """A first stop signal, noted by the handler and acted on by the main thread."""

    def __init__(self, act: t.Callable[[int], None]) -> None:
        #: Drains, lets the STATE out if the gate allows, and raises SystemExit.
        self._act = act
        #: The signal whose drain is due, if one came.
        self.signum: int | None = None
        # The write end of the pipe the input wait also watches, while there is one.
        self._wake: int | None = None

    def request(self, signum: int) -> None:
        """From the signal handler: note the drain, and wake an input wait."""
        if self.signum is None:
            self.signum = signum
        wake = self._wake
        if wake is not None:
            # A full pipe already wakes the wait; a closed one has no wait left.
            with contextlib.suppress(OSError):
                os.write(wake, b"\0")

    def act_if_requested(self) -> None:
        """At a safe point: do the requested drain (it ends the run), if one is due."""
        signum, self.signum = self.signum, None
        if signum is not None:
            self._act(signum)

    @contextlib.contextmanager
    def waking(self) -> Iterator[int]:
        """A file descriptor that becomes readable when a stop is requested.

        Open while the input is read from a file descriptor; a request made
        before it opened is seen by :meth:`act_if_requested` before the first wait.
        """
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        os.set_blocking(read_end, False)
        self._wake = write_end
        try:
            yield read_end
        finally:
            self._wake = None
            os.close(write_end)
            os.close(read_end)
