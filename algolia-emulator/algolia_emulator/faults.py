"""Scripted misbehaviour: error statuses, dropped connections, mid-sync edits."""

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


@dataclass
class DropFault(_Filter):
    remaining: int = 1


@dataclass
class ScheduledTouch:
    # Counts down on every GET /2/users; fires when it reaches zero.
    calls_left: int
    user_ids: list[str] = field(default_factory=list)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statuses: list[StatusFault] = []
        self._drops: list[DropFault] = []
        self._touches: list[ScheduledTouch] = []

    def clear(self) -> None:
        with self._lock:
            self._statuses.clear()
            self._drops.clear()
            self._touches.clear()

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

    def schedule_touch(self, after_list_calls: int, user_ids: list[str]) -> None:
        if after_list_calls < 1:
            raise ValueError("after_list_calls must be at least 1")
        with self._lock:
            self._touches.append(ScheduledTouch(after_list_calls, list(user_ids)))

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
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._statuses.remove(fault)
                    return replace(fault)
        return None

    def list_call_served(self) -> list[str]:
        """Note one served GET /2/users; return the user IDs whose touch is now due."""
        due: list[str] = []
        with self._lock:
            for touch in list(self._touches):
                touch.calls_left -= 1
                if touch.calls_left <= 0:
                    due.extend(touch.user_ids)
                    self._touches.remove(touch)
        return due

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "statuses": [asdict(f) for f in self._statuses],
                "drops": [asdict(f) for f in self._drops],
                "scheduledTouches": [asdict(t) for t in self._touches],
            }
