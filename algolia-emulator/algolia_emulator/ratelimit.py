"""Fixed-window rate limiting per application, with Algolia's headers."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int  # integer Unix seconds when the next window starts
    retry_after: int  # whole seconds, at least 1; only meaningful when refused

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset_epoch),
        }


class RateLimiter:
    """A window opens with the first call after the previous one ended.

    Anchoring windows to the first call (not to the wall clock) makes short
    test windows deterministic: a burst never straddles a boundary by luck.
    """

    def __init__(self, limit: int = 500, window_seconds: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}
        self.configure(limit, window_seconds)

    def configure(self, limit: int, window_seconds: float) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("rate limit and window must be positive")
        with self._lock:
            self.limit = limit
            self.window = float(window_seconds)
            self._windows.clear()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def _current(self, app_id: str, now: float) -> tuple[float, int]:
        start, used = self._windows.get(app_id, (now, 0))
        if now >= start + self.window:
            start, used = now, 0
        return start, used

    def _decision(
        self, start: float, used: int, now: float, allowed: bool, skew: float
    ) -> Decision:
        end = start + self.window
        return Decision(
            allowed=allowed,
            limit=self.limit,
            remaining=max(0, self.limit - used),
            # Rounded up so a client that sleeps until the reset is never early;
            # a skewed server clock shows in the reset it reports.
            reset_epoch=math.ceil(end + skew),
            retry_after=max(1, math.ceil(end - now)),
        )

    def hit(self, app_id: str, skew: float = 0.0) -> Decision:
        """Count one call and say whether it may proceed."""
        now = time.time()
        with self._lock:
            start, used = self._current(app_id, now)
            if used >= self.limit:
                self._windows[app_id] = (start, used)
                return self._decision(start, used, now, False, skew)
            used += 1
            self._windows[app_id] = (start, used)
            return self._decision(start, used, now, True, skew)

    def peek(self, app_id: str, skew: float = 0.0) -> Decision:
        """The current state without counting a call (for responses that do not count)."""
        now = time.time()
        with self._lock:
            start, used = self._current(app_id, now)
            return self._decision(start, used, now, used < self.limit, skew)
