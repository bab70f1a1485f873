"""The HTTP session both plugins send requests through.

Authentication headers, the User-Agent, TLS verification and rate-limit
pacing are attached here, once, so the tap's SDK stream and the target's
client cannot drift apart.
"""

from __future__ import annotations

import threading
import time
import typing as t
from collections import Counter, deque
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter

from algolia_api.errors import RATE_LIMIT_STATUSES
from algolia_api.pacing import RateLimitPacer

if t.TYPE_CHECKING:
    from algolia_api.settings import ConnectionSettings

CONTRACT_VERSION = "0.1.0"


@dataclass
class CallStats:
    """Counts of what was sent to Algolia, shared by every thread of a run.

    ``busiest_minute`` is the most calls that finished within any 60 seconds
    so far: a real count to hold against a per-minute budget (for a run shorter
    than a minute, all its calls), never a short run's rate extrapolated.
    """

    calls: int = 0
    rate_limited: int = 0
    failed_connections: int = 0
    busiest_minute: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    clock: t.Callable[[], float] = field(default=time.monotonic, repr=False)
    _last_minute: deque[float] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, response: requests.Response | None) -> None:
        with self._lock:
            self.calls += 1
            now = self.clock()
            self._last_minute.append(now)
            while self._last_minute[0] <= now - 60.0:
                self._last_minute.popleft()
            self.busiest_minute = max(self.busiest_minute, len(self._last_minute))
            if response is None:
                self.failed_connections += 1
                return
            self.by_status[response.status_code] += 1
            if response.status_code in RATE_LIMIT_STATUSES:
                self.rate_limited += 1


class PacedAdapter(HTTPAdapter):
    """Transport adapter that passes every request through the pacer and counts it."""

    def __init__(self, pacer: RateLimitPacer, stats: CallStats, pool_size: int = 10) -> None:
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.pacer = pacer
        self.stats = stats

    def send(
        self, request: requests.PreparedRequest, *args: t.Any, **kwargs: t.Any
    ) -> requests.Response:
        ticket = self.pacer.acquire()
        response: requests.Response | None = None
        try:
            response = super().send(request, *args, **kwargs)
            return response
        finally:
            self.pacer.release(ticket, response)
            self.stats.record(response)


def auth_headers(settings: ConnectionSettings) -> dict[str, str]:
    """Headers that authenticate a request to one Algolia application."""
    return {
        "x-algolia-application-id": settings.app_id,
        "x-algolia-api-key": settings.api_key,
    }


def user_agent(plugin: str, version: str) -> str:
    """User-Agent naming the plugin and this contract module."""
    return f"{plugin}/{version} (singer-algolia-api/{CONTRACT_VERSION}; Meltano Singer SDK)"


def build_session(
    settings: ConnectionSettings,
    *,
    agent: str,
    pacer: RateLimitPacer | None = None,
    stats: CallStats | None = None,
    pool_size: int = 10,
) -> requests.Session:
    """A session with auth, User-Agent, TLS verification on, and pacing on every request."""
    session = requests.Session()
    session.verify = True  # never configurable: the API key travels in a header
    session.headers.update(auth_headers(settings))
    session.headers["User-Agent"] = agent
    session.headers["Accept"] = "application/json"
    adapter = PacedAdapter(pacer or RateLimitPacer(), stats or CallStats(), pool_size=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def session_stats(session: requests.Session) -> CallStats:
    """The CallStats of a session made by :func:`build_session`."""
    adapter = session.get_adapter("https://")
    if not isinstance(adapter, PacedAdapter):
        msg = "session was not made by build_session"
        raise TypeError(msg)
    return adapter.stats
