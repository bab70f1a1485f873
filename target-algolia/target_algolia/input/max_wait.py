"""max_wait_seconds: no record waits longer than the bound before the target starts writing it.

The rule: a record that has arrived on the input is written, at the latest,
``max_wait_seconds`` after it arrived, and the STATE that followed it is
emitted right after that write, even when no further input line comes. A STATE
that arrives while nothing is pending is emitted as soon as the input pauses. A
batch that fills up (``batch_size_rows``) is written at once, as before. While
a batch is being written, input waits; when the writes take longer than the
bound (input faster than the request budget), the next batch starts as soon
as the previous one ends, and the summary reports the backlog.

singer-sdk's Target reads its input line by line in the main thread and acts
only when a line arrives (its own 5-minute drain included), so a quiet input
would hold records indefinitely. :func:`input_lines` reads the input file
descriptor itself, in chunks, and while it waits for more input it wakes up
when the bound is due and calls :meth:`WaitBound.act` (the target's
``drain_all``). Everything still happens in the main thread between two input
lines: writes and STATE keep their order, a signal finds the same states as
before, and a failing write stops the run before any STATE.

The bound is checked whenever the target has processed all the input that is
ready, that is whenever the input pauses, even for a moment. Input that is
always ready (a file, a tap faster than the target) is cut into batches by
size as before, so bulk runs batch as they did; a record can then wait longer
than the bound by at most the time the target takes to read one full batch.

A record's arrival is known to the read that brought it: data that was
already waiting arrived after the input was last seen empty (or after the
previous read); data the target waited for arrived when the wait ended.
:attr:`WaitBound.arrived_after` carries that time to the writer, which dates
its pending batch with it, so input that queued up during a long write is due
as soon as that write ends.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import select
import time
import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from target_algolia.input.stop_request import StopRequest

DEFAULT_MAX_WAIT_SECONDS = 1.0

# Bytes per read of the input. Larger than a pipe's default buffer (64 KiB),
# so one read takes everything a tap has written so far.
READ_SIZE = 1 << 20


@dataclass
class WaitBound:
    """When the target must write what it holds, and how.

    ``pending_since``: when the oldest pending record arrived (``clock`` time),
    or None. ``state_unemitted``: a STATE was read that is not yet emitted.
    ``write``: write everything pending and emit the latest STATE.
    """

    max_wait: float
    pending_since: t.Callable[[], float | None]
    state_unemitted: t.Callable[[], bool]
    write: t.Callable[[], None]
    clock: t.Callable[[], float] = time.monotonic
    #: The records being read arrived no earlier than this (``clock`` time);
    #: None when the input cannot tell (an in-memory buffer).
    arrived_after: float | None = None

    def arrival(self) -> float:
        """When the record being read arrived, at the earliest: the writer's clock."""
        return self.arrived_after if self.arrived_after is not None else self.clock()

    def seconds_left(self) -> float | None:
        """Seconds until the target must act (<= 0: now); None when nothing waits."""
        since = self.pending_since()
        if since is not None:
            return since + self.max_wait - self.clock()
        if self.state_unemitted():
            return 0.0
        return None

    def act(self) -> None:
        self.write()


def input_lines(
    stream: t.IO[str], bound: WaitBound | None, stop: StopRequest | None = None
) -> t.Iterator[str]:
    """The lines of ``stream`` (without their newline), acting on ``bound`` when input pauses.

    A stop signal's drain (``stop``) is done between two lines and while the
    input is awaited (:mod:`target_algolia.input.stop_request`). A stream
    without a file descriptor (an in-memory buffer) is iterated as it is: all
    of it is there, so nothing ever waits for input.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        lines: t.Iterator[str] = iter(stream)
    else:
        lines = _fd_lines(fd, bound, stop)
    return lines if stop is None else _stoppable(lines, stop)


def _stoppable(lines: t.Iterator[str], stop: StopRequest) -> t.Iterator[str]:
    # Between two lines the main thread holds nothing: a safe point.
    for line in lines:
        stop.act_if_requested()
        yield line
    stop.act_if_requested()


def _fd_lines(fd: int, bound: WaitBound | None, stop: StopRequest | None) -> t.Iterator[str]:
    # Singer messages are UTF-8 JSON, whatever the locale says. A byte that is
    # not UTF-8 is kept as a lone surrogate (surrogateescape) instead of
    # failing the read (strict) or depending on the locale's error handler:
    # the line still parses, and the sink rejects the record that holds it
    # with its reason (merge.NOT_UTF8, algolia_api.user_id_problem), so no such
    # ID is ever written. Universal newlines, as the text stream would do.
    decoder = io.IncrementalNewlineDecoder(
        codecs.getincrementaldecoder("utf-8")("surrogateescape"), translate=True
    )
    partial: list[str] = []  # pieces of a line longer than one read
    read_at = time.monotonic() if bound is None else bound.clock()
    with contextlib.ExitStack() as scope:
        wake = scope.enter_context(stop.waking()) if stop is not None else None
        while True:
            arrived = _await_input(fd, bound, read_at, stop, wake)
            if bound is not None:
                bound.arrived_after = arrived
            data = os.read(fd, READ_SIZE)
            if bound is not None:
                read_at = bound.clock()
            text = decoder.decode(data, final=not data)
            if not data:
                partial.append(text)
                last = "".join(partial)
                if last:
                    yield last
                return
            lines = text.split("\n")
            if len(lines) == 1:
                partial.append(text)
                continue
            if partial:
                partial.append(lines[0])
                lines[0] = "".join(partial)
                partial = []
            tail = lines.pop()
            if tail:
                partial.append(tail)
            # JSON needs no line terminator: the lines are yielded without a copy.
            yield from lines


def _await_input(
    fd: int,
    bound: WaitBound | None,
    since: float,
    stop: StopRequest | None,
    wake: int | None,
) -> float:
    """Wait until input is readable, acting on the bound when it is due.

    ``since``: when the previous read ended. Returns when the input now
    readable arrived, at the earliest. A stop requested meanwhile is acted
    on here (it ends the run).
    """
    if bound is None and stop is None:
        return since  # nothing to act on while waiting: the read itself waits
    clock = bound.clock if bound is not None else time.monotonic
    watched = [fd] if wake is None else [fd, wake]
    acted = False
    while True:
        if stop is not None:
            stop.act_if_requested()
        if _readable(fd, 0.0):
            return since  # input is ready: keep reading, batches fill by size
        # Nothing to read now: whatever comes next arrives after this moment.
        since = clock()
        left = bound.seconds_left() if bound is not None else None
        if bound is not None and left is not None and left <= 0 and not acted:
            bound.act()
            acted = True
            continue
        # Block when nothing waits (or it was just written), else until it is due;
        # a stop request wakes the wait through its pipe.
        ready = _ready(watched, None if left is None or left <= 0 else left)
        if wake is not None and wake in ready:
            os.read(wake, 512)  # the request's wake-up bytes: the flag says the rest
        if fd in ready:
            return clock()  # woken by the input: it arrived just now
        # Timed out (the bound is due) or woken by a stop: act at the top of the loop.


def _readable(fd: int, timeout: float | None) -> bool:
    return bool(_ready([fd], timeout))


def _ready(fds: list[int], timeout: float | None) -> list[int]:
    ready, _, _ = select.select(fds, [], [], timeout)
    return ready
