"""The server's clock, as read from the HTTP ``Date`` header of its answers.

``x-ratelimit-reset`` is a Unix time on Algolia's clock, not this host's. A
host whose clock is ahead of the server's reads every reset as already past;
one whose clock is behind waits for a reset long after the server's window
rolled. So the pacer converts resets to local time with the offset this
module estimates.

Rule: ``Date`` is whole seconds, stamped before the answer left the server,
so ``Date - local receive time`` never exceeds the true offset (server minus
local). The estimate is the largest such sample among recent answers: it
approaches the true offset from below as answers arrive across second
boundaries, and being low only ever makes the pacer wait a little longer,
never send early. Only recent samples count, so a server clock that is
corrected (stepped back) is followed within :data:`SAMPLE_SPAN` seconds.

An estimate between -1 and 0 s is read as 0: a server in step with this host
shows exactly that (its ``Date`` lags by the part of the second already gone),
and a skew smaller than ``Date``'s resolution cannot be told apart from none.
"""

from __future__ import annotations

import calendar
import threading
import typing as t
from collections import deque
from email.utils import parsedate_tz

#: Samples older than this many local seconds are forgotten.
SAMPLE_SPAN = 120.0
#: At most this many samples are kept (a busy client answers many per second).
MAX_SAMPLES = 256


def parse_http_date(value: str) -> float | None:
    """Unix time of an HTTP ``Date`` value (RFC 9110 IMF-fixdate), or None if unreadable."""
    parts = parsedate_tz(value)
    if parts is None:
        return None
    year, month, day, hour, minute, second, *_, offset = parts
    try:
        epoch = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    return float(epoch - (offset or 0))


class ServerClock:
    """Thread-safe estimate of (server clock - local clock), in seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, float]] = deque(maxlen=MAX_SAMPLES)
        self._last_date: tuple[str, float | None] = ("", None)

    @property
    def offset(self) -> float:
        """Server time minus local time; 0 until an answer carried a readable ``Date``."""
        with self._lock:
            estimate = max((sample for _, sample in self._samples), default=0.0)
        return 0.0 if -1.0 < estimate <= 0.0 else estimate

    def observe(self, headers: t.Mapping[str, str], received_at: float) -> None:
        """Take one sample from an answer's headers, received at local time ``received_at``."""
        value = headers.get("Date") or headers.get("date")
        if not value:
            return
        with self._lock:
            # Answers within one second share their Date: parse each value once.
            last_value, server_time = self._last_date
            if value != last_value:
                server_time = parse_http_date(value)
                self._last_date = (value, server_time)
            if server_time is None:
                return
            while self._samples and self._samples[0][0] < received_at - SAMPLE_SPAN:
                self._samples.popleft()
            self._samples.append((received_at, server_time - received_at))

    def to_local(self, server_time: float) -> float:
        """A moment on the server's clock, as a local Unix time."""
        return server_time - self.offset
