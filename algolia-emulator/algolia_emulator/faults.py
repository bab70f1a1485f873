"""Scripted misbehaviour: error statuses, dropped connections, odd answers, mid-sync edits,
and held requests.

A hold is test-only timing control, not an Algolia behaviour: it keeps one
chosen API call (the n-th matching one) waiting, before it is served or after
it is served but before its answer leaves, until the test releases it. The
test learns that the call has arrived, so it can act (signal the client, say)
while the client is known to be at that step. A hold left unreleased lets its
call go after ``timeout`` seconds, so a forgotten one cannot hang the server.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass
class _Filter:
    method: str | None = None
    path_prefix: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)


@dataclass
class StatusFault(_Filter):
    status: int = 500
    remaining: int = 1
    retry_after: int | None = None
    rate_limit_headers: bool = True
    message: str | None = None
    # Matching requests let through untouched before the fault starts.
    after: int = 0


@dataclass
class DropFault(_Filter):
    remaining: int = 1


@dataclass
class OverlapFault:
    """The next ``remaining`` list pages that have a next page hand out a
    ``nextPageToken`` that repeats their last ``profiles`` profiles on the next
    page: a cursor whose pages overlap."""

    remaining: int = 1
    profiles: int = 1


@dataclass
class BodyFault(_Filter):
    """Answer ``status`` with ``body`` as is, before authentication: a broken or hostile server.

    For answers no handler gives: a 204 or a redirect to a profile read, an
    empty, HTML, cut-short or ``null`` 200, another user's profile, a list
    page that repeats a cursor. Queued faults that match are used in order,
    so a sequence of pages (a cursor cycle) is a sequence of faults.
    ``path``, if set, must equal the request path (``path_prefix`` would
    also match ``/2/users/{userID}`` for ``/2/users``).
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    remaining: int = 1
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return super().matches(method, path) and (self.path is None or self.path == path)


#: What a scheduled edit does to its profiles: a write by "another system"
#: landing between a client's read and its write.
SCHEDULED_ACTIONS = ("touch", "delete", "segments")


@dataclass
class ScheduledTouch:
    # Counts down on every GET /2/users; fires when it reaches zero.
    calls_left: int
    user_ids: list[str] = field(default_factory=list)
    action: str = "touch"
    segments: list[dict[str, str]] | None = None


HOLD_PHASES = ("before", "after")


@dataclass
class Hold(_Filter):
    """Keep the matching call after ``after`` others waiting until released.

    ``phase`` "before": the call waits before it is served (a PUT is not yet
    applied); "after": it is served (a PUT is applied) and its answer waits.
    """

    after: int = 0
    phase: str = "before"
    timeout: float = 30.0
    id: int = 0
    arrived: threading.Event = field(default_factory=threading.Event, repr=False)
    released: threading.Event = field(default_factory=threading.Event, repr=False)
    timed_out: bool = False

    def wait_here(self) -> None:
        """Called on the request's thread when it reaches the held step."""
        self.arrived.set()
        if not self.released.wait(self.timeout):
            self.timed_out = True

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path_prefix": self.path_prefix,
            "after": self.after,
            "phase": self.phase,
            "timeout": self.timeout,
            "arrived": self.arrived.is_set(),
            "released": self.released.is_set(),
            "timedOut": self.timed_out,
        }


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statuses: list[StatusFault] = []
        self._drops: list[DropFault] = []
        self._bodies: list[BodyFault] = []
        self._touches: list[ScheduledTouch] = []
        self._overlaps: list[OverlapFault] = []
        self._holds: dict[int, Hold] = {}
        self._waiting_holds: list[Hold] = []
        self._hold_ids = itertools.count(1)

    def clear(self) -> None:
        self.release_holds()
        with self._lock:
            self._statuses.clear()
            self._drops.clear()
            self._bodies.clear()
            self._touches.clear()
            self._overlaps.clear()

    def add_status(self, fault: StatusFault) -> None:
        if not 100 <= fault.status <= 599 or fault.remaining < 1:
            raise ValueError("status must be 100-599 and count at least 1")
        with self._lock:
            self._statuses.append(fault)

    def add_drop(self, fault: DropFault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._drops.append(fault)

    def add_overlap(self, fault: OverlapFault) -> None:
        if fault.remaining < 1 or fault.profiles < 1:
            raise ValueError("count and profiles must be at least 1")
        with self._lock:
            self._overlaps.append(fault)

    def take_overlap(self) -> int:
        """Profiles the next page must repeat from this one (0: none)."""
        with self._lock:
            if not self._overlaps:
                return 0
            fault = self._overlaps[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                self._overlaps.pop(0)
            return fault.profiles

    def add_body(self, fault: BodyFault) -> None:
        if not 100 <= fault.status <= 599 or fault.remaining < 1:
            raise ValueError("status must be 100-599 and count at least 1")
        with self._lock:
            self._bodies.append(fault)

    def take_body(self, method: str, path: str) -> BodyFault | None:
        with self._lock:
            for fault in self._bodies:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._bodies.remove(fault)
                    return replace(fault)
        return None

    def schedule_touch(
        self,
        after_list_calls: int,
        user_ids: list[str],
        action: str = "touch",
        segments: list[dict[str, str]] | None = None,
    ) -> None:
        if after_list_calls < 1:
            raise ValueError("after_list_calls must be at least 1")
        if action not in SCHEDULED_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(SCHEDULED_ACTIONS)}")
        if action == "segments" and segments is None:
            raise ValueError("action 'segments' needs a segments list")
        with self._lock:
            self._touches.append(ScheduledTouch(after_list_calls, list(user_ids), action, segments))

    def take_drop(self, method: str, path: str) -> bool:
        with self._lock:
            for fault in self._drops:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._drops.remove(fault)
                    return True
        return False

    def take_status(self, method: str, path: str) -> StatusFault | None:
        with self._lock:
            for fault in self._statuses:
                if fault.matches(method, path):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._statuses.remove(fault)
                    return replace(fault)
        return None

    def list_call_served(self) -> list[ScheduledTouch]:
        """Note one served GET /2/users; return the scheduled edits now due."""
        due: list[ScheduledTouch] = []
        with self._lock:
            for touch in list(self._touches):
                touch.calls_left -= 1
                if touch.calls_left <= 0:
                    due.append(touch)
                    self._touches.remove(touch)
        return due

    def add_hold(self, hold: Hold) -> Hold:
        if hold.phase not in HOLD_PHASES:
            raise ValueError(f"phase must be one of {', '.join(HOLD_PHASES)}")
        if hold.after < 0 or not 0 < hold.timeout <= 600:
            raise ValueError("after must not be negative, timeout 0-600 seconds")
        with self._lock:
            hold.id = next(self._hold_ids)
            self._holds[hold.id] = hold
            self._waiting_holds.append(hold)
        return hold

    def take_hold(self, method: str, path: str) -> Hold | None:
        """The hold this call is, if any: counts it against every hold it matches."""
        found: Hold | None = None
        with self._lock:
            for hold in list(self._waiting_holds):
                if not hold.matches(method, path):
                    continue
                if hold.after > 0:
                    hold.after -= 1
                elif found is None:
                    found = hold
                    self._waiting_holds.remove(hold)
        return found

    def hold(self, hold_id: int) -> Hold:
        with self._lock:
            found = self._holds.get(hold_id)
        if found is None:
            raise KeyError(hold_id)
        return found

    def release_holds(self) -> None:
        """Let every held call go and forget every hold."""
        with self._lock:
            holds = list(self._holds.values())
            self._holds.clear()
            self._waiting_holds.clear()
        for hold in holds:
            hold.released.set()

    def holds(self) -> list[dict[str, Any]]:
        with self._lock:
            return [hold.view() for hold in self._holds.values()]

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "statuses": [asdict(f) for f in self._statuses],
                "drops": [asdict(f) for f in self._drops],
                "bodies": [
                    {**asdict(f), "body": f.body.decode("utf-8", "backslashreplace")}
                    for f in self._bodies
                ],
                "scheduledTouches": [asdict(t) for t in self._touches],
                "overlaps": [asdict(f) for f in self._overlaps],
            }
