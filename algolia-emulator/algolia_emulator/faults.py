"""Scripted misbehaviour: error statuses, dropped connections, odd answers, mid-sync edits."""

from __future__ import annotations

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


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statuses: list[StatusFault] = []
        self._drops: list[DropFault] = []
        self._bodies: list[BodyFault] = []
        self._touches: list[ScheduledTouch] = []
        self._overlaps: list[OverlapFault] = []

    def clear(self) -> None:
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
