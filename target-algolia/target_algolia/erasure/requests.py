"""Erasure: the records of an ``erasure_streams`` stream delete the profiles they name.

Rule: each record of an erasure stream names one user, in ``user_id_field``
like every other record, whose Algolia profile is to be deleted
(``DELETE /2/users/{userID}``), for example a GDPR erasure request. Nothing is
deleted while input is still arriving: the requests are collected, and once
the input has ended (and the segment writes of the run are done) the count
is held against ``erasure_max_profiles``. Past it nothing is erased and the
run fails with one line; raising the setting is the override. Then each
distinct user gets one DELETE:

- Algolia's answer carries ``deletedUntil``; it is logged per user, and the
  latest one is in the run summary;
- a 404 means the profile is already gone: what was asked for, not an error;
- an invalid user ID is a reject (rejects file, summary), never sent, and so
  is a request nested too deep to be read whole (``too_deep``, ``input.depth``);
- a record with ``_sdc_deleted_at`` set (a CDC tap saw the request row
  deleted) asks for nothing and is skipped;
- with ``dry_run`` each profile is read (GET) instead, to report what a real
  run would erase, and nothing is deleted.

STATE is held back until the erasure is done, so a run that fails before or
during it is replayed in full by the next run (a DELETE can be repeated).
Algolia builds profiles from the events it receives: while events for an
erased user keep arriving, a new profile is built, so erasure must go with
stopping those events upstream (the README says so).
"""

from __future__ import annotations

import logging
import threading
import typing as t
from functools import partial

from algolia_api import NotFoundError, parse_timestamp, user_id_problem
from target_algolia.input.depth import refuse_cut_record
from target_algolia.input.source_fields import DELETED_AT, is_deleted
from target_algolia.outcomes import (
    ERASURE_REQUEST_DELETED,
    INVALID_USER_ID,
    RecordRejected,
    api_answer,
)

if t.TYPE_CHECKING:
    from target_algolia.write.writer import ProfileWriter


class ErasureGuardError(Exception):
    """More users to erase than ``erasure_max_profiles``: nothing was erased."""


class ErasureRequests:
    """The run's erasure requests: collected from the input, applied at its end."""

    def __init__(
        self,
        streams: frozenset[str],
        *,
        user_id_field: str,
        max_profiles: int,
        logger: logging.Logger,
    ) -> None:
        self.streams = streams
        self.user_id_field = user_id_field
        self.max_profiles = max_profiles
        self.logger = logger
        #: user ID -> the records that asked for it (input order).
        self.users: dict[str, list[tuple[dict[str, t.Any], str]]] = {}
        self._lock = threading.Lock()
        self.erased = 0
        self.already_gone = 0
        self.refused = 0
        self.deleted_until: list[str] = []

    def add_record(self, record: dict[str, t.Any], stream: str, writer: ProfileWriter) -> None:
        """Take one record of an erasure stream: a request, a reject or a skip."""
        user_id = record.get(self.user_id_field)
        try:
            refuse_cut_record(record)  # nested too deep (input.depth): not read whole
        except RecordRejected as cut:
            writer.reject(cut.code, cut.detail, user_id=user_id, records=[(record, stream)])
            return
        if is_deleted(record):  # the one rule for CDC deletes (source_fields)
            writer.reject(
                ERASURE_REQUEST_DELETED,
                f"the erasure request row was deleted ({DELETED_AT} is set)",
                user_id=user_id,
                records=[(record, stream)],
                skipped=True,
            )
            return
        problem = user_id_problem(user_id)
        if problem:
            writer.reject(
                INVALID_USER_ID,
                f"{problem} in field {self.user_id_field!r}; this erasure request was not applied",
                user_id=user_id,
                records=[(record, stream)],
            )
            return
        self.users.setdefault(t.cast(str, user_id), []).append((record, stream))

    def apply(self, writer: ProfileWriter) -> None:
        """Guard, then DELETE (or, in a dry run, GET) every requested profile."""
        try:
            if self.users:
                self._check_guard(writer.dry_run)
                tasks = [
                    partial(self._erase_one, writer, user_id, records)
                    for user_id, records in self.users.items()
                ]
                with writer.worker_pool(len(tasks)) as pool:
                    writer.run_parallel(pool, tasks)
        finally:
            writer.stats.note_erasure(self.outcome(dry_run=writer.dry_run))

    def _check_guard(self, dry_run: bool) -> None:
        count = len(self.users)
        if count <= self.max_profiles:
            return
        msg = (
            f"Erasure guard: the erasure streams name {count} profiles, over "
            f"erasure_max_profiles={self.max_profiles}; nothing was erased. Check the "
            "source, then raise erasure_max_profiles to apply them."
        )
        if dry_run:
            self.logger.warning("Dry run: a real run would stop here. %s", msg)
            return
        raise ErasureGuardError(msg)

    def _erase_one(
        self, writer: ProfileWriter, user_id: str, records: list[tuple[dict[str, t.Any], str]]
    ) -> None:
        client = writer.client
        answer: dict[str, t.Any] | None
        try:
            with api_answer(writer.refused):
                if writer.dry_run:
                    try:
                        client.get_user(user_id)
                    except NotFoundError:
                        answer = None
                    else:
                        answer = {}
                else:
                    answer = client.delete_user(user_id)
        except RecordRejected as refused:
            with self._lock:
                self.refused += 1
            writer.reject(refused.code, refused.detail, user_id=user_id, records=records)
            return
        if answer is None:
            with self._lock:
                self.already_gone += 1
            self.logger.info(
                "%s %s is already gone (404): nothing to erase",
                "Dry run: profile" if writer.dry_run else "Profile",
                user_id,
            )
            return
        if writer.dry_run:
            with self._lock:
                self.erased += 1
            self.logger.info("Dry run: would erase profile %s", user_id)
            return
        until = answer.get("deletedUntil")
        with self._lock:
            self.erased += 1
            if isinstance(until, str):
                self.deleted_until.append(until)
        self.logger.info(
            "Erased profile %s (deletedAt %s, deletedUntil %s)",
            user_id,
            answer.get("deletedAt", "not given"),
            until if until is not None else "not given",
        )

    def latest_deleted_until(self) -> str | None:
        """The latest ``deletedUntil`` Algolia answered, as it wrote it (None if none)."""

        def instant(value: str) -> tuple[int, t.Any]:
            try:
                return (1, parse_timestamp(value))
            except ValueError:
                return (0, value)  # not RFC 3339: shown only if nothing else is

        return max(self.deleted_until, key=instant, default=None)

    def outcome(self, *, dry_run: bool) -> str:
        """The erasure part of the summary: counts, and the latest ``deletedUntil``."""
        parts = [
            f"{'would_erase' if dry_run else 'erased'}:{self.erased}",
            f"already_gone:{self.already_gone}",
        ]
        if self.refused:
            parts.append(f"refused:{self.refused}")
        if not dry_run:
            parts.append(f"deleted_until:{self.latest_deleted_until() or 'none'}")
        return ",".join(parts)
