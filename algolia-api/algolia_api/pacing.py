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

``x-ratelimit-reset`` is read on the server's clock (:mod:`.server_clock`), so
a host clock minutes ahead of or behind Algolia's neither stalls nor slows
pacing. And pacing always makes progress: it never waits for a reset more
than one window plus a margin away, and when it knows of no reset and no
answer is on its way it lets one request through to ask the server. A wait
long enough to notice is logged with its reason, also when it is made of
short waits. A header value that is no usable number (``NaN``, infinity, a
limit below 1) is ignored and a remaining count outside 0..limit is clamped,
so no answer can make the pacer spin or wait unbounded.

The first request goes alone: the others wait for its answer, which tells the
pacer how much of the window other clients have used, so parallel workers
never start with a blind burst; and a refused key (401/403) costs one call, not
one per worker (the plugins make no separate credentials call).
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
import typing as t
from dataclasses import dataclass

from algolia_api.server_clock import ServerClock

if t.TYPE_CHECKING:
    import requests


class PacingStopped(Exception):
    """The pacer was stopped because the run is ending: no request may start."""


@dataclass
class PacerStats:
    """What pacing cost: how often and how long requests were held back."""

    waits: int = 0
    waited_seconds: float = 0.0


#: Algolia's rate-limit window, in seconds.
WINDOW_SECONDS = 60.0
#: The longest a reset is believed to be ahead; a later one is a clock or
#: server fault, and a request is let through when this much time has passed.
LONGEST_WAIT = WINDOW_SECONDS + 5.0
#: Waits at least this long are logged, with their reason.
LOGGED_WAIT = 5.0
#: How often to look again while answers that will report the window are on their way.
POLL_SECONDS = 0.05


class RateLimitPacer:
    """Thread-safe gate in front of every request to one Algolia application."""

    def __init__(
        self,
        max_requests_per_minute: float | None = None,
        *,
        clock: t.Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        self._clock = clock
        self._logger = logger or logging.getLogger(__name__)
        self.server_clock = ServerClock()
        self._cond = threading.Condition()
        self._interval = 60.0 / max_requests_per_minute if max_requests_per_minute else 0.0
        self._next_slot = 0.0
        self._seq = itertools.count(1)
        self._in_flight: set[int] = set()
        # State of the server's current window, as last reported.
        self._limit: int | None = None
        self._remaining: int | None = None
        self._window: float | None = None  # its x-ratelimit-reset, on the server's clock
        self._reset: float | None = None  # the same moment on the local clock
        self._sent_in_window = 0
        self._stopped = False
        self._answered = False  # until the first request has finished, no other starts
        self.stats = PacerStats()

    def _roll_window(self, now: float) -> None:
        if self._reset is not None and now >= self._reset:
            self._window = None
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
        if not self._answered and self._in_flight:
            return POLL_SECONDS  # the first answer reports the window (or a refused key)
        wait = 0.0
        if self._limit is not None and self._used() >= self._limit:
            # No room until the window resets. With the reset unknown (a new
            # window, no answer yet) wait for an in-flight answer to report
            # it; with none in flight, nothing would ever report it: send one
            # request and let the server say (a 429 carries its own delay).
            if self._reset is not None:
                wait = self._reset - now
            elif self._in_flight:
                wait = POLL_SECONDS
        if self._interval:
            wait = max(wait, self._next_slot - now)
        return wait

    def _log_wait(self, wait: float) -> None:
        if self._reset is not None and self._limit is not None and self._used() >= self._limit:
            self._logger.info(
                "Pacing: the %d calls of Algolia's rate-limit window are used up; "
                "waiting %.0f s for the window to reset",
                self._limit,
                wait,
            )
        elif self._interval and self._next_slot - self._clock() >= POLL_SECONDS:
            self._logger.info("Pacing: waiting %.0f s to stay within max_requests_per_minute", wait)
        else:
            self._logger.info(
                "Pacing: waited %.0f s so far for the answers in flight to report "
                "Algolia's rate-limit window",
                wait,
            )

    def acquire(self) -> int:
        """Block until a request may be sent; return a ticket for :meth:`release`."""
        waited = 0.0
        logged = False
        with self._cond:
            while True:
                if self._stopped:
                    raise PacingStopped("the run is stopping: no new request is sent")
                now = self._clock()
                self._roll_window(now)
                wait = self._wait_needed(now)
                if not wait > 0:  # also NaN: never a wait of unknown length
                    break
                # Logged once per request: when a long wait starts, or when
                # short waits have added up to a long one.
                if not logged and (wait >= LOGGED_WAIT or waited >= LOGGED_WAIT):
                    self._log_wait(max(wait, waited))
                    logged = True
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
            self._answered = True
            if response is not None:
                self.server_clock.observe(response.headers, self._clock())
                self._observe(response.headers)
            self._cond.notify_all()

    def _observe(self, headers: t.Mapping[str, str]) -> None:
        try:
            limit = int(headers["x-ratelimit-limit"])
            remaining = int(headers["x-ratelimit-remaining"])
            window = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError, OverflowError):
            return
        if limit < 1 or not math.isfinite(window):
            return  # NaN, infinity or no calls at all: not a window to pace on
        remaining = min(max(remaining, 0), limit)
        self._limit = limit
        now = self._clock()
        # The reset is a moment on the server's clock: read it on ours.
        reset = self.server_clock.to_local(window)
        if reset <= now:
            return  # that window is already over
        if self._window is not None and window < self._window:
            return  # a late answer from an earlier window
        if self._window is None or window > self._window:
            # First answer from a new window: adopt it. The server's count now
            # rules; requests sent in the old window must not be charged to
            # this one (reset is whole seconds, so the server's window often
            # rolls before the reset we were told, without _roll_window).
            # A reset further away than a window can last is not believed.
            self._window = window
            self._reset = min(reset, now + LONGEST_WAIT)
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
