"""The HTTP session both plugins send requests through.

Authentication headers, the User-Agent, TLS verification, rate-limit pacing
and the whole-request deadline (``request_timeout`` bounds a request from
start to the last byte of its body, however slowly the server sends it) are
attached here, once, so the tap's SDK stream and the target's client cannot
drift apart.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
import typing as t
from collections import Counter, deque
from dataclasses import dataclass, field

import requests
import urllib3
from requests.adapters import HTTPAdapter
from typing_extensions import override

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


# The request deadline ---------------------------------------------------------------
#
# urllib3's timeouts bound each socket operation, not the request: a server that
# sends one byte every few seconds keeps a request alive for ever. So each
# request gets a RequestDeadline, started when it leaves the pacer; the
# connection it is sent on registers with it (through a thread-local, as the
# request and its connection meet inside urllib3's pool), and when the deadline
# passes a watchdog thread shuts the socket down. The blocked read then fails, and the
# adapter reports a ReadTimeout, retried like any other timeout.

_sending = threading.local()


class _Watchdog:
    """One thread per process that expires request deadlines, earliest first.

    What it is for: ``request_timeout`` must bound a whole request, and a
    blocked socket read can only be cut short from another thread. A thread
    per request (threading.Timer) costs about 0.2 ms of CPU each; this costs
    a heap push.

    Its rule: the deadline on top of the heap (the earliest) is the only one
    waited for. When its time has come it is expired (its socket shut down)
    unless it was cancelled meanwhile; a cancelled deadline is never waited
    for, and is popped without any effect as soon as it reaches the top, so it
    stays in the heap only while a deadline that expires earlier is ahead of it.
    The thread is a daemon, started on the first deadline (again if it died),
    and sleeps on a condition that :meth:`add` wakes when a new deadline
    becomes the earliest.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, RequestDeadline]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: RequestDeadline) -> None:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="algolia-request-deadlines", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, (deadline.expires, next(self._seq), deadline))
            if self._heap[0][2] is deadline:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._heap:
                    self._cond.wait()
                    continue
                expires, _, deadline = self._heap[0]
                if not deadline.cancelled:
                    wait = expires - time.monotonic()
                    if wait > 0:
                        self._cond.wait(wait)
                        continue
                heapq.heappop(self._heap)
            if not deadline.cancelled:
                deadline.expire()


_WATCHDOG = _Watchdog()


class RequestDeadline:
    """Shuts down the socket of one request when ``seconds`` have passed since start()."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = 0.0
        self.expired = False
        self.cancelled = False
        self._lock = threading.Lock()
        self._connection: t.Any = None
        self._sock: socket.socket | None = None

    def start(self) -> None:
        self.expires = time.monotonic() + self.seconds
        _WATCHDOG.add(self)

    def cancel(self) -> None:
        self.cancelled = True

    def watch(self, connection: t.Any) -> None:
        """The connection the request goes out on (urllib3's; its socket may come later).

        Called again once the request is sent, when the socket is known: the
        socket is then kept too, because a connection whose answer says
        ``Connection: close`` drops its ``sock`` while the body is still read
        from it.
        """
        with self._lock:
            self._connection = connection
            sock = getattr(connection, "sock", None)
            if sock is not None:
                self._sock = sock
            expired = self.expired
        if expired:
            self._shut_down()

    def expire(self) -> None:
        with self._lock:
            self.expired = True
        self._shut_down()

    def _shut_down(self) -> None:
        with self._lock:
            socks = {id(s): s for s in (getattr(self._connection, "sock", None), self._sock) if s}
        for sock in socks.values():
            # socket.socket's own shutdown, also for a TLS socket: it wakes a read
            # blocked in another thread without touching the TLS state under it.
            with contextlib.suppress(OSError, ValueError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _WatchedConnection:
    """Mixin for urllib3 connections: a request registers with the sending thread's deadline."""

    def request(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        deadline = getattr(_sending, "deadline", None)
        if deadline is not None:
            deadline.watch(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> t.Any:
        deadline = getattr(_sending, "deadline", None)
        if deadline is not None:
            deadline.watch(self)  # now with its socket
        return super().getresponse()  # type: ignore[misc]


class _HTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_WATCHED_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


def whole_request_seconds(timeout: t.Any) -> float | None:
    """The seconds one whole request may take, from requests' ``timeout`` argument."""
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        return float(timeout)
    if isinstance(timeout, tuple) and all(isinstance(part, (int, float)) for part in timeout):
        return float(sum(timeout))
    return None


class PacedAdapter(HTTPAdapter):
    """Transport adapter: paces and counts every request, and bounds it as a whole.

    ``timeout`` (``request_timeout``) bounds the whole request, from the moment
    it leaves the pacer to the last byte of its body: the body is read here,
    under the deadline, rather than later by requests (a caller asking for
    ``stream=True`` still gets the whole body, already read).
    """

    def __init__(self, pacer: RateLimitPacer, stats: CallStats, pool_size: int = 10) -> None:
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.pacer = pacer
        self.stats = stats

    @override
    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    @override
    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any) -> t.Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager

    @override
    def send(
        self, request: requests.PreparedRequest, *args: t.Any, **kwargs: t.Any
    ) -> requests.Response:
        ticket = self.pacer.acquire()
        response: requests.Response | None = None
        try:
            response = self._send_within_deadline(request, *args, **kwargs)
            return response
        finally:
            self.pacer.release(ticket, response)
            self.stats.record(response)

    def _send_within_deadline(
        self, request: requests.PreparedRequest, *args: t.Any, **kwargs: t.Any
    ) -> requests.Response:
        seconds = whole_request_seconds(kwargs.get("timeout"))
        if seconds is None:
            return super().send(request, *args, **kwargs)
        deadline = RequestDeadline(seconds)
        kwargs["stream"] = True
        _sending.deadline = deadline
        deadline.start()
        try:
            response = super().send(request, *args, **kwargs)
            _ = response.content  # the body, read under the deadline
            return response
        except Exception as exc:
            if deadline.expired:
                msg = f"no complete answer within request_timeout ({seconds:g} s)"
                raise requests.exceptions.ReadTimeout(msg, request=request) from exc
            if isinstance(exc, requests.exceptions.RequestException) and exc.request is None:
                exc.request = request  # the one error line names the request
            raise
        finally:
            deadline.cancel()
            _sending.deadline = None


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
