"""The in-memory profile store: sorted IDs, parsed instants, cached JSON.

Paging through 200,000 profiles must stay cheap, so IDs live in a sorted list
(cursors are a bisect), each profile's ``lastUpdatedAt`` is parsed once into
integer nanoseconds, and each profile's JSON is serialized once and reused
until the profile changes. One re-entrant lock guards everything.
"""

from __future__ import annotations

import bisect
import copy
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .gcpause import gc_paused
from .timestamps import parse_rfc3339_ns

User = dict[str, Any]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class _Record:
    __slots__ = ("blob", "instant_ns", "user")

    def __init__(self, user: User) -> None:
        self.user = user
        self.instant_ns = parse_rfc3339_ns(user["lastUpdatedAt"])
        self.blob: bytes | None = None

    def serialized(self) -> bytes:
        if self.blob is None:
            self.blob = dumps(self.user)
        return self.blob


@dataclass(frozen=True)
class ListQuery:
    """A parsed ``GET /2/users`` request; at most one of ``after``/``before``."""

    limit: int = 10
    after: str | None = None
    before: str | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    inclusive: bool = True
    indices: tuple[str, ...] = ()
    affinity: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Page:
    blobs: list[bytes]
    first_id: str | None
    last_id: str | None
    has_previous: bool
    has_next: bool


def _matcher(query: ListQuery) -> Callable[[_Record], bool] | None:
    checks: list[Callable[[_Record], bool]] = []
    start, end = query.start_ns, query.end_ns
    if start is not None:
        checks.append(
            (lambda r: r.instant_ns >= start)
            if query.inclusive
            else (lambda r: r.instant_ns > start)
        )
    if end is not None:
        checks.append(
            (lambda r: r.instant_ns <= end) if query.inclusive else (lambda r: r.instant_ns < end)
        )
    if query.indices:
        wanted = set(query.indices)

        def has_indices(r: _Record) -> bool:
            seen: set[str] = set()
            for aff in r.user.get("affinities") or ():
                seen.update(aff.get("indices") or ())
            return wanted <= seen

        checks.append(has_indices)
    if query.affinity:
        terms = query.affinity

        def has_affinities(r: _Record) -> bool:
            affs = r.user.get("affinities") or ()
            return all(
                any(
                    a.get("name") == name and (value is None or a.get("value") == value)
                    for a in affs
                )
                for name, value in terms
            )

        checks.append(has_affinities)
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda r: all(check(r) for check in checks)


class UserStore:
    def __init__(self, users: Iterable[User] = ()) -> None:
        self._lock = threading.RLock()
        self._ids: list[str] = []
        self._records: dict[str, _Record] = {}
        self.version = 0
        self.replace_all(users)

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def __len__(self) -> int:
        return len(self._ids)

    def replace_all(self, users: Iterable[User]) -> None:
        with gc_paused():
            records = {u["userID"]: _Record(u) for u in users}
        with self._lock:
            self._records = records
            self._ids = sorted(records)
            self.version += 1

    def delete_all(self) -> int:
        with self._lock:
            count = len(self._ids)
            self._records = {}
            self._ids = []
            self.version += 1
            return count

    # -- reads -------------------------------------------------------------

    def get(self, user_id: str) -> User | None:
        with self._lock:
            record = self._records.get(user_id)
            return copy.deepcopy(record.user) if record else None

    def get_serialized(self, user_id: str) -> bytes | None:
        with self._lock:
            record = self._records.get(user_id)
            return record.serialized() if record else None

    def all_user_ids(self) -> list[str]:
        with self._lock:
            return list(self._ids)

    def snapshot(self) -> tuple[int, bytes]:
        """The whole store as a JSON array, with the version it reflects."""
        with self._lock:
            parts = [self._records[uid].serialized() for uid in self._ids]
            version = self.version
        return version, b"[" + b",".join(parts) + b"]"

    def id_before(self, user_id: str, count: int) -> str:
        """The user ID ``count`` places before ``user_id`` (the first ID at most)."""
        with self._lock:
            ids = self._ids
            pos = bisect.bisect_left(ids, user_id)
            return ids[max(pos - count, 0)] if ids else user_id

    def list_page(self, query: ListQuery) -> Page:
        match = _matcher(query)
        with self._lock:
            ids, records = self._ids, self._records
            if query.before is not None:
                return self._page_backward(ids, records, query, match)
            return self._page_forward(ids, records, query, match)

    @staticmethod
    def _any_match(
        ids: list[str],
        records: dict[str, _Record],
        positions: Iterable[int],
        match: Callable[[_Record], bool] | None,
    ) -> bool:
        return any(match is None or match(records[ids[pos]]) for pos in positions)

    def _page_forward(
        self,
        ids: list[str],
        records: dict[str, _Record],
        query: ListQuery,
        match: Callable[[_Record], bool] | None,
    ) -> Page:
        start = bisect.bisect_right(ids, query.after) if query.after is not None else 0
        picked: list[str] = []
        pos = start
        total = len(ids)
        while pos < total and len(picked) < query.limit:
            uid = ids[pos]
            if match is None or match(records[uid]):
                picked.append(uid)
            pos += 1
        has_next = self._any_match(ids, records, range(pos, total), match)
        has_previous = query.after is not None and self._any_match(
            ids, records, range(start - 1, -1, -1), match
        )
        return self._page(records, picked, has_previous, has_next)

    def _page_backward(
        self,
        ids: list[str],
        records: dict[str, _Record],
        query: ListQuery,
        match: Callable[[_Record], bool] | None,
    ) -> Page:
        assert query.before is not None
        end = bisect.bisect_left(ids, query.before)
        picked: list[str] = []
        pos = end - 1
        while pos >= 0 and len(picked) < query.limit:
            uid = ids[pos]
            if match is None or match(records[uid]):
                picked.append(uid)
            pos -= 1
        picked.reverse()
        has_previous = self._any_match(ids, records, range(pos, -1, -1), match)
        has_next = self._any_match(ids, records, range(end, len(ids)), match)
        return self._page(records, picked, has_previous, has_next)

    @staticmethod
    def _page(
        records: dict[str, _Record], picked: list[str], has_previous: bool, has_next: bool
    ) -> Page:
        return Page(
            blobs=[records[uid].serialized() for uid in picked],
            first_id=picked[0] if picked else None,
            last_id=picked[-1] if picked else None,
            has_previous=has_previous and bool(picked),
            has_next=has_next and bool(picked),
        )

    def warm_cache(self, chunk: int = 2000) -> None:
        """Serialize every profile ahead of the first sync, a chunk per lock hold."""
        position = 0
        while True:
            with self._lock:
                ids = self._ids[position : position + chunk]
                for uid in ids:
                    record = self._records.get(uid)
                    if record is not None:
                        record.serialized()
            if len(ids) < chunk:
                return
            position += chunk

    # -- writes ------------------------------------------------------------

    def upsert(self, user: User) -> User:
        """Insert or replace a whole profile; ``lastUpdatedAt`` must parse."""
        record = _Record(copy.deepcopy(user))
        uid = record.user["userID"]
        with self._lock:
            if uid not in self._records:
                bisect.insort(self._ids, uid)
            self._records[uid] = record
            self.version += 1
            return copy.deepcopy(record.user)

    def delete(self, user_id: str) -> bool:
        with self._lock:
            if self._records.pop(user_id, None) is None:
                return False
            del self._ids[bisect.bisect_left(self._ids, user_id)]
            self.version += 1
            return True

    def _restamp(self, user_id: str, stamp: str, changes: User | None = None) -> User | None:
        with self._lock:
            record = self._records.get(user_id)
            if record is None:
                return None
            user = dict(record.user)
            if changes:
                user.update(changes)
            user["lastUpdatedAt"] = stamp
            self._records[user_id] = _Record(user)
            self.version += 1
            return copy.deepcopy(user)

    def set_segments(self, user_id: str, segments: list[dict[str, str]], stamp: str) -> User | None:
        """Replace the segment list and stamp the profile; None if there is no profile."""
        return self._restamp(user_id, stamp, {"segments": copy.deepcopy(segments)})

    def touch(self, user_id: str, stamp: str) -> User | None:
        return self._restamp(user_id, stamp)

    def touch_many(self, user_ids: Iterable[str], stamp: str) -> list[str]:
        with self._lock:
            return [uid for uid in user_ids if self._restamp(uid, stamp) is not None]
