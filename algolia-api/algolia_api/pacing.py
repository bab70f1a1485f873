"""Client-side pacing against Algolia's per-application rate limit.

Algolia allows a number of calls per window per application (500 per 60 s)
and reports the state of the window on every response in ``x-ratelimit-limit``,
``x-ratelimit-remaining`` and ``x-ratelimit-reset``. The pacer holds each
request until the window has room for it, counting requests still in flight,
so a long sync or a concurrent writer spends the whole budget without
provoking 429s. An optional local cap (``max_requests_per_minute``) spaces
requests evenly below the server's limit.

:meth:`RateLimitPacer.stop` ends pacing for good: requests waiting for room
raise :class:`PacingStopped` at once, and so does every later one, so a run
that is stopping (a signal) never starts another request.
"""

from __future__ import annotations

import itertools
import threading
import time
import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    import requests


class PacingStopped(Exception):
    """The pacer was stopped because the run is ending: no request may start."""


@dataclass
class PacerStats:
    """What pacing cost: how often and how long requests were held back."""

    waits: int = 0
    waited_seconds: float = 0.0


class RateLimitPacer:
    """Thread-safe gate in front of every request to one Algolia application."""

    def __init__(
        self,
        max_requests_per_minute: float | None = None,
        *,
        clock: t.Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._interval = 60.0 / max_requests_per_minute if max_requests_per_minute else 0.0
        self._next_slot = 0.0
        self._seq = itertools.count(1)
        self._in_flight: set[int] = set()
        # State of the server's current window, as last reported.
        self._limit: int | None = None
        self._remaining: int | None = None
        self._reset: float | None = None
        self._sent_in_window = 0
        self._stopped = False
        self.stats = PacerStats()

    def _roll_window(self, now: float) -> None:
        if self._reset is not None and now >= self._reset:
            self._reset = None
            self._remaining = None
            self._sent_in_window = 0  # requests still in flight count against the old window

    def _used(self) -> int:
        used = self._sent_in_window
        if self._limit is not None and self._remaining is not None:
            # Any request still in flight may yet be counted in this window:
            # answers arrive out of order over parallel connections, so one
            # sent before the reading may reach the server after it. Counting
            # them all over-counts by at most the requests in flight, and only
            # until they answer.
            used = max(used, self._limit - self._remaining + len(self._in_flight))
        return used

    def _wait_needed(self, now: float) -> float:
        wait = 0.0
        if self._limit is not None and self._used() >= self._limit:
            # No room until the window resets. With the reset unknown (a new
            # window, no answer yet) wait for an in-flight answer to report it.
            wait = self._reset - now if self._reset is not None else 0.05
        if self._interval:
            wait = max(wait, self._next_slot - now)
        return wait

    def acquire(self) -> int:
        """Block until a request may be sent; return a ticket for :meth:`release`."""
        waited = 0.0
        with self._cond:
            while True:
                if self._stopped:
                    raise PacingStopped("the run is stopping: no new request is sent")
                now = self._clock()
                self._roll_window(now)
                wait = self._wait_needed(now)
                if wait <= 0:
                    break
                wait = min(wait, 1.0)
                waited += wait
                self._cond.wait(timeout=wait)
            if waited:
                self.stats.waits += 1
                self.stats.waited_seconds += waited
            if self._interval:
                self._next_slot = max(now, self._next_slot) + self._interval
            ticket = next(self._seq)
            self._in_flight.add(ticket)
            self._sent_in_window += 1
            return ticket

    def release(self, ticket: int, response: requests.Response | None) -> None:
        """Record that a request finished, and what the server said of the window."""
        with self._cond:
            self._in_flight.discard(ticket)
            if response is not None:
                self._observe(response.headers)
            self._cond.notify_all()

    def _observe(self, headers: t.Mapping[str, str]) -> None:
        try:
            limit = int(headers["x-ratelimit-limit"])
            remaining = int(headers["x-ratelimit-remaining"])
            reset = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return
        self._limit = limit
        if reset <= self._clock():
            return  # that window is already over
        if self._reset is not None and reset < self._reset:
            return  # a late answer from an earlier window
        if self._reset is None or reset > self._reset:
            # First answer from a new window: adopt it. The server's count now
            # rules; requests sent in the old window must not be charged to
            # this one (reset is whole seconds, so the server's window often
            # rolls before the reset we were told, without _roll_window).
            self._reset = reset
            self._remaining = remaining
            self._sent_in_window = 0
            return
        if self._remaining is None or remaining < self._remaining:
            self._remaining = remaining

    # Stopping ------------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        """Refuse every request from now on and wake those waiting for room.

        Safe in a signal handler: the flag alone stops waiters within their
        next second of waiting, so the lock is only tried, never waited for.
        """
        self._stopped = True
        if self._cond.acquire(timeout=0.5):
            try:
                self._cond.notify_all()
            finally:
                self._cond.release()
