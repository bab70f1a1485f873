"""Timestamps: every RFC 3339 form becomes one canonical UTC string, ordered like time."""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algolia_api import (
    canonical_timestamp,
    format_canonical,
    format_query_timestamp,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("2026-11-02T10:15:00Z", "2026-11-02T10:15:00.000000Z"),
        ("2026-11-02T10:15:00.5Z", "2026-11-02T10:15:00.500000Z"),
        ("2026-11-02T10:15:00.250+01:00", "2026-11-02T09:15:00.250000Z"),
        ("2026-11-02T01:15:00.123456789-05:30", "2026-11-02T06:45:00.123456Z"),
        ("2026-11-02T10:15:00+00:00", "2026-11-02T10:15:00.000000Z"),
        ("2026-11-02t10:15:00z", "2026-11-02T10:15:00.000000Z"),
        ("2026-11-02T10:15:00.249906Z", "2026-11-02T10:15:00.249906Z"),
        ("2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00.000000Z"),
    ],
)
def test_canonical_form(raw: str, canonical: str) -> None:
    assert canonical_timestamp(raw) == canonical


@pytest.mark.parametrize(
    "bad", ["", "yesterday", "2026-11-02", "2026-13-02T10:00:00Z", "10:15:00Z"]
)
def test_garbage_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_timestamp(bad)


def test_query_form_is_whole_seconds_utc() -> None:
    moment = datetime(2026, 11, 2, 11, 15, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))
    assert format_query_timestamp(moment) == "2026-11-02T10:15:00Z"


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 2),
    max_value=datetime(2099, 12, 30),
    timezones=st.just(timezone.utc),
)


def _render(moment: datetime, offset: timezone, style: int) -> str:
    local = moment.astimezone(offset)
    base = local.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f".{local.microsecond:06d}"
    if style == 1:
        frac = frac.rstrip("0") if local.microsecond else ""
    off = local.strftime("%z")
    off = f"{off[:3]}:{off[3:]}"
    if style == 2 and local.utcoffset() == timedelta(0):
        off = "Z"
    return base + frac + off


@given(instants, instants, offsets, offsets, st.integers(0, 2), st.integers(0, 2))
def test_string_order_of_canonical_forms_is_time_order(
    a: datetime, b: datetime, off_a: timezone, off_b: timezone, style_a: int, style_b: int
) -> None:
    ca = canonical_timestamp(_render(a, off_a, style_a))
    cb = canonical_timestamp(_render(b, off_b, style_b))
    assert (ca < cb) == (a < b)
    assert (ca == cb) == (a == b)


@given(
    moment=instants,
    offset=offsets,
    digits=st.integers(min_value=0, max_value=9),
    zone=st.sampled_from(["Z", "z", "+hh:mm", "+hhmm", "none"]),
    separator=st.sampled_from(["T", "t", " "]),
)
def test_canonical_timestamp_agrees_with_the_reference_parse(
    moment: datetime, offset: timezone, digits: int, zone: str, separator: str
) -> None:
    """The fast path of canonical_timestamp gives what parse_timestamp + format_canonical give."""
    from algolia_api.timestamps import format_canonical

    local = moment.astimezone(timezone.utc if zone in ("Z", "z", "none") else offset)
    text = local.strftime(f"%Y-%m-%d{separator}%H:%M:%S")
    if digits:
        text += "." + f"{local.microsecond:06d}987"[:digits]
    if zone in ("Z", "z"):
        text += zone
    elif zone != "none":
        z = local.strftime("%z")
        text += z if zone == "+hhmm" else f"{z[:3]}:{z[3:]}"
    assert canonical_timestamp(text) == format_canonical(parse_timestamp(text))


@pytest.mark.parametrize(
    "bad",
    [
        "2026-02-30T10:00:00Z",
        "2026-11-02T24:00:00+01:00",
        "x",
        # Already in the canonical spelling, so on the fast path: still checked.
        "2026-13-45T99:99:99.000000Z",
        "2026-02-30T10:00:00.000000Z",
        "2026-11-02T10:00:60.000000Z",
        "2026-11-02T1a:00:00.000000Z",
    ],
)
def test_canonical_timestamp_refuses_what_parse_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        canonical_timestamp(bad)


@pytest.mark.parametrize(
    "offset", ["+99:99", "+24:00", "-24:00", "-00:60", "+23:60", "+9999", "+2400"]
)
@pytest.mark.parametrize("reader", [parse_timestamp, canonical_timestamp])
def test_an_offset_outside_rfc_3339_is_refused_by_both_readers(
    offset: str, reader: t.Callable[[str], object]
) -> None:
    # The tap's profiles go through canonical_timestamp, its bookmark and
    # start_date through parse_timestamp: both used to differ on -00:60.
    with pytest.raises(ValueError, match="UTC offset is out of range"):
        reader(f"2026-11-02T10:00:00.000000{offset}")


@pytest.mark.parametrize(
    ("offset", "utc"),
    [("+23:59", "2026-11-01T10:01:00.000000Z"), ("-00:59", "2026-11-02T10:59:00.000000Z")],
)
def test_the_widest_rfc_3339_offsets_are_read(offset: str, utc: str) -> None:
    assert canonical_timestamp(f"2026-11-02T10:00:00{offset}") == utc
    assert format_canonical(parse_timestamp(f"2026-11-02T10:00:00{offset}")) == utc
