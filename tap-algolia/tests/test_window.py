"""The window a sync reads: bounds, overlap, start_date, and the bookmark it keeps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_algolia.window import parse_start_date, plan_window

NOW = datetime(2026, 11, 2, 10, 15, 42, 987654, tzinfo=timezone.utc)
UTC = timezone.utc


def test_first_sync_without_start_date_reads_everything_future_stamps_included() -> None:
    window = plan_window(bookmark=None, start_date=None, overlap_seconds=300, now=NOW)
    assert window.query() == {}  # no endDate: a profile stamped after now is read too
    # ...but the bookmark never moves past the sync's start.
    assert window.bookmark == "2026-11-02T10:15:42.000000Z"
    assert window.not_before is None
    assert not window.empty


def test_bookmark_minus_overlap_floored_to_the_second() -> None:
    window = plan_window(
        bookmark="2026-11-02T09:00:00.750000Z", start_date=None, overlap_seconds=300, now=NOW
    )
    assert window.query() == {
        "startDate": "2026-11-02T08:55:00Z",
        "endDate": "2026-11-02T10:15:42Z",
    }
    assert window.not_before is None


def test_bookmark_with_an_offset_is_read_as_an_instant() -> None:
    window = plan_window(
        bookmark="2026-11-02T11:00:00.5+02:00", start_date=None, overlap_seconds=1, now=NOW
    )
    assert window.query()["startDate"] == "2026-11-02T08:59:59Z"


def test_bookmark_wins_over_a_later_start_date() -> None:
    window = plan_window(
        bookmark="2026-10-01T00:00:00.000000Z",
        start_date="2026-11-01T00:00:00Z",
        overlap_seconds=60,
        now=NOW,
    )
    assert window.query()["startDate"] == "2026-09-30T23:59:00Z"
    assert window.not_before is None


def test_start_date_only_on_the_first_sync_and_filters_earlier_profiles() -> None:
    window = plan_window(
        bookmark=None, start_date="2026-10-01T12:30:00+02:00", overlap_seconds=300, now=NOW
    )
    assert window.query() == {"startDate": "2026-10-01T10:25:00Z"}  # no endDate
    assert window.not_before == "2026-10-01T10:30:00.000000Z"
    assert window.bookmark == "2026-11-02T10:15:42.000000Z"


def test_start_date_may_be_a_bare_date() -> None:
    assert parse_start_date("2026-10-01") == datetime(2026, 10, 1, tzinfo=UTC)
    window = plan_window(bookmark=None, start_date="2026-10-01", overlap_seconds=1, now=NOW)
    assert window.query()["startDate"] == "2026-09-30T23:59:59Z"
    assert window.not_before == "2026-10-01T00:00:00.000000Z"


def test_a_future_anchor_reads_nothing() -> None:
    window = plan_window(
        bookmark=None, start_date="2026-11-03T00:00:00Z", overlap_seconds=300, now=NOW
    )
    assert window.empty
    window = plan_window(
        bookmark="2026-11-02T10:15:42.000000Z", start_date=None, overlap_seconds=300, now=NOW
    )
    assert not window.empty  # a bookmark equal to the end is an ordinary re-run


def test_overlap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        plan_window(bookmark=None, start_date=None, overlap_seconds=0, now=NOW)


def test_bad_start_date_is_refused() -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_start_date("yesterday")


def _spell(moment: datetime, offset_minutes: int, digits: int) -> str:
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{local.microsecond:06d}".ljust(9, "0")[:digits]
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def _query_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(
    bookmark=instants,
    offset=st.sampled_from([0, 60, -300, 330, -720, 840]),
    digits=st.sampled_from([0, 1, 3, 6, 9]),
    overlap=st.integers(min_value=1, max_value=3600),
    gap=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
)
def test_consecutive_windows_cover_every_instant_with_either_kind_of_bound(
    bookmark: datetime, offset: int, digits: int, overlap: int, gap: timedelta
) -> None:
    """Whatever the spelling of the bookmark, the next window starts strictly before it.

    So a profile stamped at or after the previous window's end is inside the
    next window even when the API's bounds are exclusive; and the window ends
    at most one second before now (updates after it are left to the next run).
    """
    spelled = _spell(bookmark, offset, digits)
    now = bookmark + gap
    window = plan_window(bookmark=spelled, start_date=None, overlap_seconds=overlap, now=now)
    start = _query_instant(window.query()["startDate"])
    end = _query_instant(window.query()["endDate"])
    keep = 10 ** (6 - min(digits, 6))
    written = bookmark.replace(microsecond=bookmark.microsecond // keep * keep)
    assert start <= written - timedelta(seconds=overlap)
    assert start > written - timedelta(seconds=overlap + 1)  # re-reads no more than the overlap
    assert end <= now < end + timedelta(seconds=1)
    # The next sync, from this window's bookmark, starts strictly before this end.
    following = plan_window(
        bookmark=window.bookmark, start_date=None, overlap_seconds=overlap, now=now
    )
    assert _query_instant(following.query()["startDate"]) < end
