"""The emulator's shared state and the request/reply types its handlers use."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .faults import Faults
from .persistence import StateFile
from .ratelimit import RateLimiter
from .seed import generate_users
from .settings import Settings
from .stats import Stats
from .store import UserStore, dumps
from .timestamps import format_now


@dataclass
class Incoming:
    method: str
    path: str  # raw, still percent-encoded, without the query string
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the socket without answering


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, dumps(payload), dict(headers or {}))


def error_reply(error: ApiError, headers: dict[str, str] | None = None) -> Reply:
    reply = json_reply(error.status, error.body(), headers)
    detail = error.detail
    if detail:
        # The published error schemas pin ``message`` to fixed strings, so the
        # specific reason travels in a header that clients may log.
        safe = detail.encode("ascii", "backslashreplace").decode("ascii")
        reply.headers["x-emulator-error-detail"] = " ".join(safe.split())
    return reply


def parse_json_body(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("body is not valid UTF-8 JSON") from None


class Emulator:
    """Everything a request may read or change, shared by all handler threads."""

    def __init__(
        self,
        *,
        users: int,
        seed: int,
        settings: Settings,
        limiter: RateLimiter,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        self.faults = Faults()
        self.stats = Stats()
        self.user_count = users
        self.seed = seed
        self.state_file = StateFile(state_file) if state_file is not None else None
        loaded = self.state_file.load() if self.state_file else None
        self.loaded_from_state = loaded is not None
        self.store = UserStore(loaded if loaded is not None else generate_users(users, seed))
        if self.state_file and not self.loaded_from_state:
            self.state_file.save(self.store)

    def stamp(self) -> str:
        return format_now(self.settings.clock_offset)

    def persist(self) -> None:
        if self.state_file is not None:
            self.state_file.save(self.store)

    def reseed(self, users: int | None = None, seed: int | None = None) -> None:
        if users is not None:
            self.user_count = users
        if seed is not None:
            self.seed = seed
        self.store.replace_all(generate_users(self.user_count, self.seed))
        self.persist()
