"""The time window one sync reads, and the bookmark it leaves behind.

``GET /2/users`` lists profiles in userID order, not by time, and does not say
whether ``startDate``/``endDate`` are inclusive. So a sync never derives its
bookmark from the records it saw. It reads one window,

    start = (bookmark, else start_date) - overlap_seconds   (whole seconds)
    end   = the moment the sync started                     (whole seconds)

and, once every page of that window has been read, the bookmark becomes
``end``: it never moves past the sync's start. Only a sync that continues from
a bookmark sends ``end`` as ``endDate``; a first import and a full-table sync
send no ``endDate``, so a profile stamped after the sync's start (a server
clock ahead, or bad data) is read by them too. An incremental sync reads such
a future-stamped profile once the clock has passed its stamp: the first
window whose range holds the stamp.

The next window starts ``overlap_seconds`` before ``end``, which catches
a profile stamped exactly at ``end`` when the API's bounds are exclusive, a
profile updated while the previous sync was paging (its new ``lastUpdatedAt``
is after ``end``), and clock skew between this host and Algolia smaller than
the overlap. Profiles in the overlap are delivered twice; nothing is missed.

Bounds, so that no setting or stored bookmark can overflow a date: a
bookmark or ``start_date`` before 1970-01-01T00:00:00Z (the Unix epoch; no
profile is older, and Algolia refuses such dates) is refused at start-up,
``overlap_seconds`` is at most 30 days, and the window never starts before
the epoch (an overlap reaching past it is cut there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from algolia_api import format_canonical, format_query_timestamp, parse_timestamp

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
#: No window starts earlier, and no bookmark or start_date may be earlier.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The longest overlap_seconds (30 days): the schema's maximum.
MAX_OVERLAP_SECONDS = 30 * 24 * 3600


def check_not_before_epoch(moment: datetime, text: str) -> datetime:
    """``moment``, or ValueError if it is before 1970-01-01T00:00:00Z."""
    if moment < EPOCH:
        msg = f"{text!r} is before 1970-01-01T00:00:00Z, earlier than any Algolia profile"
        raise ValueError(msg)
    return moment


def parse_start_date(value: str) -> datetime:
    """Parse ``start_date``: an RFC 3339 date-time, or a bare date (midnight UTC)."""
    text = value.strip()
    if _DATE_ONLY.fullmatch(text):
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    return parse_timestamp(text)


def floor_second(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class SyncWindow:
    """What one sync asks Algolia for, and what it may keep."""

    #: ``startDate`` to send, or None for a full import.
    start: datetime | None
    #: The sync's start: the bookmark once the window is fully read, and the
    #: ``endDate`` sent when ``bounded``.
    end: datetime
    #: Canonical ``start_date``: records updated before it are dropped. Only
    #: set when the window is anchored on ``start_date`` rather than a bookmark.
    not_before: str | None = None
    #: True when the bookmark or start_date is after ``end`` (a clock problem,
    #: or a start_date in the future): nothing is read and no bookmark is kept.
    empty: bool = False
    #: True when continuing from a bookmark: ``endDate`` is sent. A first import
    #: reads to the newest profile, future-stamped ones included.
    bounded: bool = True

    @property
    def bookmark(self) -> str:
        """The replication-key value to store once the window is fully read."""
        return format_canonical(self.end)

    def query(self) -> dict[str, str]:
        """``startDate``/``endDate`` query parameters, whole seconds, UTC."""
        params: dict[str, str] = {}
        if self.bounded:
            params["endDate"] = format_query_timestamp(self.end)
        if self.start is not None:
            params["startDate"] = format_query_timestamp(self.start)
        return params


def plan_window(
    *,
    bookmark: str | None,
    start_date: str | None,
    overlap_seconds: int,
    now: datetime,
) -> SyncWindow:
    """The window for a sync that starts at ``now``.

    ``bookmark`` wins over ``start_date``; ``start_date`` is used only when
    there is no bookmark, and then profiles updated before it are filtered out
    (the query itself starts ``overlap_seconds`` earlier, so that a profile
    stamped exactly at ``start_date`` is read whatever the API's bounds are).
    Without a bookmark no ``endDate`` is sent (see the module's rule).
    """
    if not 1 <= overlap_seconds <= MAX_OVERLAP_SECONDS:
        msg = (
            f"overlap_seconds must be at least 1 and at most {MAX_OVERLAP_SECONDS} "
            f"(got {overlap_seconds})"
        )
        raise ValueError(msg)
    end = floor_second(now)
    not_before: str | None = None
    if bookmark:
        anchor: datetime | None = parse_timestamp(bookmark)
    elif start_date:
        anchor = parse_start_date(start_date)
        not_before = format_canonical(anchor)
    else:
        anchor = None
    start = None
    if anchor is not None:
        start = max(EPOCH, floor_second(max(anchor, EPOCH)) - timedelta(seconds=overlap_seconds))
    empty = anchor is not None and anchor > end
    return SyncWindow(
        start=start, end=end, not_before=not_before, empty=empty, bounded=bool(bookmark)
    )
