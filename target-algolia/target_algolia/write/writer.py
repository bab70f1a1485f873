"""The batch shared by all of a run's streams, and the concurrent GET/merge/PUT of it.

One :class:`ProfileWriter` belongs to the target. Every sink adds its accepted
records to the writer's pending batch, so a user's records from several
streams are reduced together in input order and two streams can never race
on the same profile. :meth:`ProfileWriter.flush` writes the batch with a pool
of worker threads that share one client (and so one request budget), and
returns only when every user of the batch is written, skipped or rejected.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import typing as t
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from functools import partial

from algolia_api import InvalidSegmentsError, NotFoundError, PacingStopped
from target_algolia.merge import (
    Change,
    Segment,
    apply_change,
    diff_segments,
    reduce_changes,
    segments_of,
)
from target_algolia.numbers import shown
from target_algolia.outcomes import (
    INVALID_SEGMENT,
    PROFILE_NOT_FOUND,
    RecordRejected,
    api_answer,
)
from target_algolia.state_gate import StateGate
from target_algolia.write.batch import UserEntry
from target_algolia.write.scan import ListScan, ReadStrategy

if t.TYPE_CHECKING:
    from algolia_api import AlgoliaClient
    from target_algolia.summary import RejectsFile, RunStats


def _no_emit(_state: dict) -> None:
    """A gate's emitter for a writer built alone: there is no STATE to send."""


class RunAborted(Exception):
    """Another worker hit a failure that ends the run; this user was not touched."""


class ProfileWriter:
    """The run's pending batch of segment changes, and their GET/merge/PUT onto profiles."""

    def __init__(
        self,
        client: AlgoliaClient,
        *,
        source: str,
        concurrency: int,
        dry_run: bool,
        stats: RunStats,
        logger: logging.Logger,
        rejects: RejectsFile | None = None,
        arrival_clock: t.Callable[[], float] = time.monotonic,
        read_strategy: ReadStrategy = ReadStrategy.PER_USER,
        reread_before_write: bool = False,
        gate: StateGate | None = None,
    ) -> None:
        self.client = client
        # Told of every record accepted and of each batch's lifecycle: the
        # STATE rule rests on it (state_gate). A writer built alone (unit
        # tests, benchmarks) gets a gate that never emits.
        self.gate = gate if gate is not None else StateGate(latest=lambda: None, emit=_no_emit)
        self.read_strategy = read_strategy
        self.reread_before_write = reread_before_write
        self.source = source
        self.concurrency = max(1, concurrency)
        self.dry_run = dry_run
        self.stats = stats
        self.logger = logger
        self.rejects = rejects
        # When the record being added arrived (time.monotonic() scale); the
        # target's reader knows better than "now" when input queued up.
        self._arrival_clock = arrival_clock
        self._pending: dict[str, UserEntry] = {}
        self._pending_records = 0
        # Hashes of every user of earlier batches (about 60 bytes a user), to
        # count users that unsorted input spreads over several batches.
        self._in_earlier_batch: set[int] = set()
        self._in_several_batches: set[int] = set()
        # When the oldest pending record arrived, for the max_wait_seconds
        # bound and the backlog figures in the summary.
        self._pending_since: float | None = None
        # The batch being written: records not yet done, and its oldest's age.
        self._flushing_left = 0
        self._flushing_since: float | None = None
        # The counts the workers' done-callbacks and the summary thread share.
        # No signal handler writes a batch (input.stop_request), so the main
        # thread never takes this lock twice.
        self._lock = threading.Lock()
        # A plain flag, not an Event: abort() runs in a signal handler, and an
        # Event's set() waits on a lock the interrupted main thread may hold.
        self._aborted = False

    # Building the batch -------------------------------------------------------

    @property
    def pending_records(self) -> int:
        return self._pending_records

    @property
    def pending_since(self) -> float | None:
        """When the oldest pending record arrived (``time.monotonic()``); None if none is."""
        return self._pending_since

    def backlog(self) -> tuple[int, float]:
        """Records accepted but not yet written, and how long the oldest has waited (s)."""
        with self._lock:
            records = self._flushing_left + self._pending_records
            oldest = self._flushing_since if self._flushing_left else self._pending_since
        return records, (time.monotonic() - oldest) if records and oldest is not None else 0.0

    def add(self, user_id: str, change: Change, record: dict[str, t.Any], stream: str) -> None:
        # The gate hears of the record before the batch holds it: a signal in
        # between finds one more unsettled record, never one fewer.
        self.gate.accepted()
        entry = self._pending.setdefault(user_id, UserEntry())
        entry.changes.append(change)
        entry.records.append((record, stream))
        with self._lock:
            if self._pending_since is None:
                self._pending_since = self._arrival_clock()
            self._pending_records += 1

    def reject(
        self,
        code: str,
        detail: str,
        *,
        user_id: t.Any,
        records: t.Iterable[tuple[dict[str, t.Any], str]],
        skipped: bool = False,
        quiet: bool = False,
    ) -> None:
        """Count, log and (with a rejects file) record a record that was not applied.

        ``quiet`` logs at DEBUG, for callers that log one line for many users.
        """
        batch = list(records)
        if skipped:
            self.stats.skip(code, len(batch))
        else:
            self.stats.reject(code, len(batch))
        self.logger.log(
            logging.DEBUG if quiet else logging.WARNING,
            "%s user %s: %s (%s)",
            "Skipped" if skipped else "Rejected",
            shown(user_id, 140),  # as the input wrote it (numbers.py)
            detail,
            code,
        )
        if self.rejects is not None:
            for record, stream in batch:
                self.rejects.write(record, f"{code}: {detail}", stream)

    # Writing the batch --------------------------------------------------------

    def flush(self) -> None:
        """Write every pending user; raise if the run must stop (no STATE then).

        The gate is told the batch is taken before the pending list is emptied,
        and written only once every user is written, skipped or rejected (it
        then offers the latest STATE): no batch leaves the list unseen.
        """
        batch = self.gate.take(self._pending_records)
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flushing_left, self._pending_records = self._pending_records, 0
            self._flushing_since, self._pending_since = self._pending_since, None
        self._count_users_seen_before(pending)
        try:
            with self.gate.writing(batch):
                if pending:
                    self._write_all(pending)
                    assert self._flushing_since is not None
                    self.stats.waited(time.monotonic() - self._flushing_since)
                # On disk before the STATE that the batch's end lets out.
                if self.rejects is not None:
                    self.rejects.flush()
        finally:
            with self._lock:
                self._flushing_left = 0
            if self.rejects is not None:
                self.rejects.flush()

    def _count_users_seen_before(self, pending: dict[str, UserEntry]) -> None:
        """Count users that were in an earlier batch too: each costs one more read."""
        keys = {hash(user_id) for user_id in pending}
        again = keys & self._in_earlier_batch
        if again:
            self.stats.count("repeat_reads", len(again))
            self.stats.count("users_in_several_batches", len(again - self._in_several_batches))
            self._in_several_batches |= again
        self._in_earlier_batch |= keys

    def abort(self) -> None:
        """Make running workers stop: no request starts after this returns.

        Workers waiting in the pacer (or about to enter it) get PacingStopped.
        """
        self._aborted = True
        self.client.pacer.stop()

    def _write_all(self, pending: dict[str, UserEntry]) -> None:
        strategy = self.read_strategy.for_batch(len(pending))
        with self.worker_pool(len(pending)) as pool:
            if strategy is ReadStrategy.LIST_SCAN:
                ListScan(self, pool, give_up=self.read_strategy is ReadStrategy.AUTO).run(pending)
            else:
                self.run_parallel(
                    pool,
                    [
                        partial(self._sync_user, user_id, entry)
                        for user_id, entry in pending.items()
                    ],
                    [len(entry.records) for entry in pending.values()],
                )

    @contextlib.contextmanager
    def worker_pool(self, size: int) -> t.Iterator[ThreadPoolExecutor]:
        """A pool for one flush; every worker shares the client and its budget."""
        pool = ThreadPoolExecutor(
            max_workers=max(1, min(self.concurrency, size)),
            thread_name_prefix="algolia-writer",
        )
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def run_parallel(
        self,
        pool: ThreadPoolExecutor,
        tasks: t.Sequence[t.Callable[[], None]],
        records: t.Sequence[int] | None = None,
    ) -> None:
        """Run ``tasks`` on ``pool``; on the first failure stop the rest and raise it.

        ``records[i]``: the batch records task ``i`` settles (for the backlog figure).
        """
        if not tasks:
            return
        futures = []
        for index, task in enumerate(tasks):
            future = pool.submit(self._stopping_the_rest_on_failure, task)
            if records is not None:
                future.add_done_callback(partial(self._user_done, records[index]))
            futures.append(future)
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        if any(f.exception() is not None for f in done):
            # Stop the rest: queued users never start, running ones stop
            # before their next request (the pool waits for them anyway).
            self._aborted = True
            for future in futures:
                future.cancel()
            done, _ = wait(futures)
            errors = [f.exception() for f in done if not f.cancelled()]
            # The failure that ended the run, not a worker that stopped because of it.
            error = next(
                (
                    e
                    for e in errors
                    if e is not None and not isinstance(e, (RunAborted, PacingStopped))
                ),
                next(e for e in errors if e is not None),
            )
            raise error

    def _stopping_the_rest_on_failure(self, task: t.Callable[[], None]) -> None:
        # Raise the abort flag in the worker itself, before it can take the next
        # queued task: the caller's thread may wake up late on a busy machine.
        try:
            task()
        except BaseException:
            self._aborted = True
            raise

    def _user_done(self, records: int, _future: Future[None] | None = None) -> None:
        with self._lock:
            self._flushing_left -= records

    def user_done(self, records: int) -> None:
        """Count ``records`` of the batch being written as settled (no call needed)."""
        self._user_done(records)

    def refused(self) -> None:
        """The key, ACL, app ID or region was refused: no worker starts another call.

        There is no separate credentials check; the run's first call is it
        (the pacer sends it alone), and the workers waiting behind it must not
        each spend one more call on the same 401.
        """
        self.abort()

    def _check_abort(self) -> None:
        if self._aborted:
            raise RunAborted

    def _sync_user(self, user_id: str, entry: UserEntry) -> None:
        """The per-user read: one GET, then at most one PUT."""
        change = reduce_changes(entry.changes)
        self.stats.count("users")
        if change.is_noop:
            self.stats.count("unchanged")
            return
        self.sync_change(user_id, change, entry.records)

    def sync_change(
        self, user_id: str, change: Change, records: list[tuple[dict[str, t.Any], str]]
    ) -> None:
        """GET the profile and write ``change`` to it (the per-user path, and re-reads)."""
        current = self.read_segments(user_id, records)
        if current is not None:
            self.write_change(user_id, change, current, records, read_at=time.monotonic())

    def read_segments(
        self, user_id: str, records: list[tuple[dict[str, t.Any], str]]
    ) -> list[Segment] | None:
        """The profile's current segments, or None if it is gone or refused (counted)."""
        self._check_abort()
        try:
            with api_answer(self.refused):
                profile = self.client.get_user(user_id)
        except NotFoundError:
            self._not_applied(user_id, records, PROFILE_NOT_FOUND, "no Algolia profile", skip=True)
            return None
        except RecordRejected as refused:
            self._not_applied(user_id, records, refused.code, refused.detail)
            return None
        return segments_of(profile)

    def write_change(
        self,
        user_id: str,
        change: Change,
        current: list[Segment],
        records: list[tuple[dict[str, t.Any], str]],
        *,
        read_at: float,
        reread: bool = False,
    ) -> None:
        """Apply ``change`` to ``current`` (read at ``read_at``) and PUT it if it differs.

        With ``reread`` the profile is read again just before the write, so
        the window in which another system's write can be overwritten is one
        GET-to-PUT round trip instead of the time since ``read_at``.
        """
        merged = apply_change(current, change, self.source)
        if merged == current:
            self.stats.count("unchanged")
            return
        if reread and not self.dry_run:
            fresh = self.read_segments(user_id, records)
            if fresh is None:
                return
            current, read_at = fresh, time.monotonic()
            merged = apply_change(current, change, self.source)
            if merged == current:
                self.stats.count("unchanged")
                return
        diff = diff_segments(current, merged, self.source)
        if self.dry_run:
            self.stats.count("would_write")
            self._count_diff(diff)
            self.logger.info(
                "Dry run: would write user %s: add %s, remove %s (%d segments after)",
                user_id,
                list(diff.added),
                list(diff.removed),
                len(merged),
            )
            return

        self._check_abort()
        try:
            with api_answer(self.refused):
                self.client.put_segments(user_id, merged)
        except NotFoundError:
            self._not_applied(
                user_id, records, PROFILE_NOT_FOUND, "profile deleted before the write", skip=True
            )
            return
        except RecordRejected as refused:
            self._not_applied(user_id, records, refused.code, refused.detail)
            return
        except InvalidSegmentsError as exc:
            # The client's last check, before any request: nothing was sent.
            self._not_applied(user_id, records, INVALID_SEGMENT, f"not written: {exc}")
            return
        self.stats.note_window(time.monotonic() - read_at)
        self.stats.count("writes")
        self._count_diff(diff)
        self.logger.debug(
            "Wrote user %s: add %s, remove %s", user_id, list(diff.added), list(diff.removed)
        )

    def _count_diff(self, diff: t.Any) -> None:
        self.stats.count("segments_added", len(diff.added))
        self.stats.count("segments_removed", len(diff.removed))

    def _not_applied(
        self,
        user_id: str,
        records: list[tuple[dict[str, t.Any], str]],
        code: str,
        detail: str,
        *,
        skip: bool = False,
    ) -> None:
        self.reject(code, detail, user_id=user_id, records=records, skipped=skip)

    def not_found(self, user_id: str, records: list[tuple[dict[str, t.Any], str]]) -> None:
        """Count a mirror member whose profile the scan did not show (the plan logs the total)."""
        self.reject(
            PROFILE_NOT_FOUND,
            "no Algolia profile",
            user_id=user_id,
            records=records,
            skipped=True,
            quiet=True,
        )
