"""Read strategies: one GET per user, or one paged scan of ``GET /2/users`` for a batch.

A per-user read costs one ``GET /2/users/{id}`` for every user whose records
ask for a change, whether or not the profile already holds it. A list scan
costs one call per 1,000 profiles of the application and shows every
profile's current segments at once, so a user whose merged result equals what
the scan showed costs nothing more, and a changed user costs one ``PUT`` (or a
``GET`` and a ``PUT`` with ``reread_before_write``).

Rules of the scan:

- Each page's changes are written before the next page is requested, so the
  time between reading a profile and overwriting it stays short (Algolia has
  no conditional write).
- The scan ends as soon as every user of the batch has been seen (pages come
  in userID order, so a batch of early IDs costs a few pages).
- A page is read only if every profile on it is one, and a page token seen
  before ends the scan (``AlgoliaClient.iter_user_pages``, the rule of
  :mod:`algolia_api.profile_rules`): nothing is written from a page that is not
  a page of profiles.
- A scan is a set: a profile shown twice (overlapping pages) is written once,
  from its first appearance (it has left ``wanted``).
- A batch user the scan never showed gets one per-user ``GET``: the profile
  may have been created behind the scan's cursor; a 404 then skips it.
- ``auto`` reads a batch of fewer than :data:`AUTO_SCAN_MIN_USERS` users one
  by one. A larger batch is scanned, but the scan stops and reads the rest one
  by one as soon as its list calls reach the number of batch users it has not
  yet seen, so ``auto`` never spends more than about twice the reads of the
  cheaper strategy, even for a small batch on a very large application.
"""

from __future__ import annotations

import enum
import time
import typing as t
from functools import partial

from algolia_api import MAX_PAGE_SIZE
from target_algolia.merge import reduce_changes, segments_of

if t.TYPE_CHECKING:
    import logging
    from concurrent.futures import ThreadPoolExecutor

    from algolia_api import AlgoliaClient
    from target_algolia.merge import Change, Segment
    from target_algolia.summary import RunStats
    from target_algolia.write.batch import SourceRecord, UserEntry


class ScanWriter(t.Protocol):
    """What the list scan uses of the writer (``write.writer.ProfileWriter``)."""

    client: AlgoliaClient
    stats: RunStats
    logger: logging.Logger
    reread_before_write: bool

    def user_done(self, records: int) -> None: ...

    def run_parallel(
        self,
        pool: ThreadPoolExecutor,
        tasks: t.Sequence[t.Callable[[], None]],
        records: t.Sequence[int] | None = None,
    ) -> None: ...

    def sync_change(self, user_id: str, change: Change, records: list[SourceRecord]) -> None: ...

    def write_change(
        self,
        user_id: str,
        change: Change,
        current: list[Segment],
        records: list[SourceRecord],
        *,
        read_at: float,
        reread: bool = False,
    ) -> None: ...


#: ``auto`` scans only batches at least this large: one list page can at best
#: replace as many per-user reads as it holds profiles.
AUTO_SCAN_MIN_USERS = MAX_PAGE_SIZE


class ReadStrategy(str, enum.Enum):
    """Setting ``read_strategy``: how current segments are read."""

    PER_USER = "per_user"
    LIST_SCAN = "list_scan"
    AUTO = "auto"

    def for_batch(self, users: int) -> ReadStrategy:
        """The strategy a batch of ``users`` users is read with."""
        if self is ReadStrategy.AUTO:
            return ReadStrategy.LIST_SCAN if users >= AUTO_SCAN_MIN_USERS else ReadStrategy.PER_USER
        return self


class ListScan:
    """Write one batch by scanning the application's profiles page by page."""

    def __init__(self, writer: ScanWriter, pool: ThreadPoolExecutor, *, give_up: bool) -> None:
        self.writer = writer
        self.pool = pool
        self.give_up = give_up

    def run(self, pending: dict[str, UserEntry]) -> None:
        writer = self.writer
        wanted: dict[str, Change] = {}
        for user_id, entry in pending.items():
            change = reduce_changes(entry.changes)
            writer.stats.count("users")
            if change.is_noop:
                writer.stats.count("unchanged")
                writer.user_done(len(entry.records))
            else:
                wanted[user_id] = change
        pages = 0
        if wanted:
            for page in writer.client.iter_user_pages(limit=MAX_PAGE_SIZE):
                pages += 1
                writer.stats.count("scan_pages")
                self._write_page(page, wanted, pending, time.monotonic())
                if not wanted:
                    break  # every batch user seen: the rest of the application is irrelevant
                if self.give_up and pages >= len(wanted):
                    writer.logger.info(
                        "List scan: %d pages read and %d batch users still unseen; "
                        "reading them one by one is cheaper from here",
                        pages,
                        len(wanted),
                    )
                    break
        # Unseen users: created behind the cursor, left for per-user reads, or absent (404).
        writer.run_parallel(
            self.pool,
            [
                partial(writer.sync_change, user_id, change, pending[user_id].records)
                for user_id, change in wanted.items()
            ],
            [len(pending[user_id].records) for user_id in wanted],
        )

    def _write_page(
        self,
        page: list[dict[str, t.Any]],
        wanted: dict[str, Change],
        pending: dict[str, UserEntry],
        read_at: float,
    ) -> None:
        writer = self.writer
        tasks = []
        settled = []
        for profile in page:
            user_id = profile.get("userID") if isinstance(profile, dict) else None
            if not isinstance(user_id, str):
                continue
            change = wanted.pop(user_id, None)
            if change is None:
                continue
            tasks.append(
                partial(
                    writer.write_change,
                    user_id,
                    change,
                    segments_of(profile),
                    pending[user_id].records,
                    read_at=read_at,
                    reread=writer.reread_before_write,
                )
            )
            settled.append(len(pending[user_id].records))
        writer.run_parallel(self.pool, tasks, settled)
