"""Call counters for the Algolia API surface (the admin API is never counted)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_route: Counter[str] = Counter()
            self.by_status: Counter[str] = Counter()
            self.user_gets: Counter[str] = Counter()
            self.user_puts: Counter[str] = Counter()
            self.dropped = 0
            self.injected = 0

    def record(self, route: str, status: int | None, user_id: str | None = None) -> None:
        """``status`` None means the connection was dropped without a response."""
        with self._lock:
            self.total += 1
            self.by_route[route] += 1
            if status is None:
                self.dropped += 1
                return
            self.by_status[str(status)] += 1
            if user_id is not None and route == "GET /2/users/{userID}":
                self.user_gets[user_id] += 1
            elif user_id is not None and route == "PUT /2/users/{userID}/segments":
                self.user_puts[user_id] += 1

    def count_injected(self) -> None:
        with self._lock:
            self.injected += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "byRoute": dict(self.by_route),
                "byStatus": dict(self.by_status),
                "rateLimited": self.by_status.get("429", 0),
                "dropped": self.dropped,
                "injected": self.injected,
                "userGets": dict(self.user_gets),
                "userPuts": dict(self.user_puts),
            }
