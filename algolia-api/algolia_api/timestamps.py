"""RFC 3339 timestamps as Algolia writes them, and one canonical UTC form.

Algolia may write an instant as ``...Z``, with a fractional part of any
precision, or with a ``+hh:mm`` offset. singer-sdk compares replication-key
values as strings, so every timestamp we emit is rewritten into one fixed-width
UTC form in which string order is time order.

Rule: one parser (:func:`_split`) reads every timestamp both plugins meet,
profiles' stamps and the tap's bookmark and ``start_date`` alike. A UTC offset
is ``Z`` or ``+hh:mm``/``-hh:mm`` (also read without the colon) with hours
00-23 and minutes 00-59, RFC 3339's ranges; ``+24:00``, ``+99:99`` or
``-00:60`` is not a timestamp, so a profile carrying one is skipped and named by the tap,
and a bookmark carrying one is refused at start-up, never shifted by it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)
CANONICAL_LENGTH = len("2026-11-02T10:15:00.000000Z")


def _split(value: str) -> tuple[tuple[str, str, str, str, str, str], str, int]:
    """The date-time digits, six microsecond digits and the UTC offset in minutes.

    A ``Z`` or a missing offset is offset 0. Digits past microseconds are
    dropped. Raises ValueError for anything that is not RFC 3339.
    """
    match = _RFC3339.fullmatch(value.strip())
    if not match:
        msg = f"not an RFC 3339 timestamp: {value!r}"
        raise ValueError(msg)
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    micro = "000000" if fraction is None else fraction[:6].ljust(6, "0")
    offset = 0
    if sign:
        if int(off_h) > 23 or int(off_m) > 59:
            msg = f"not an RFC 3339 timestamp: {value!r} (the UTC offset is out of range)"
            raise ValueError(msg)
        offset = int(off_h) * 60 + int(off_m)
        offset = -offset if sign == "-" else offset
    return (year, month, day, hour, minute, second), micro, offset


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime.

    A missing offset is read as UTC. Digits past microseconds are truncated.
    Raises ValueError for anything else.
    """
    (year, month, day, hour, minute, second), micro, offset = _split(value)
    zone = timezone(timedelta(minutes=offset)) if offset else timezone.utc
    moment = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), int(micro), zone
    )
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        msg = f"not a representable instant: {value!r}"
        raise ValueError(msg) from None


def format_canonical(moment: datetime) -> str:
    """Fixed-width UTC form, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_timestamp(value: str) -> str:
    """Rewrite any RFC 3339 timestamp into the canonical UTC form.

    Same result as ``format_canonical(parse_timestamp(value))``, but this runs
    for every profile and affinity a tap emits, so it avoids ``strftime`` and
    time-zone objects: a UTC spelling is reassembled from its own digits, and
    only a non-zero offset costs one ``timedelta``.
    """
    # Most Algolia timestamps are already canonical: check their fields with
    # the C parser (month 13 or second 99 is refused) instead of the regex.
    if (
        len(value) == CANONICAL_LENGTH
        and value[-1] == "Z"
        and value[19] == "."
        and value[10] == "T"
        and value[4] == value[7] == "-"
        and value[13] == value[16] == ":"
        and value[:4].isdigit()
    ):
        try:
            datetime.fromisoformat(value[:-1])
        except ValueError:
            msg = f"not an RFC 3339 timestamp: {value!r}"
            raise ValueError(msg) from None
        return value
    return _rewrite(value)


# Profiles computed in one batch share their stamps, so a rewrite is often a repeat.
@lru_cache(maxsize=4096)
def _rewrite(value: str) -> str:
    (year, month, day, hour, minute, second), micro, offset = _split(value)
    # Constructing the datetime validates the fields (month 13, 30 February, ...).
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    if not offset:
        return f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micro}Z"
    try:
        moment -= timedelta(minutes=offset)
    except OverflowError:
        msg = f"not a representable instant: {value!r}"
        raise ValueError(msg) from None
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{micro}Z"
    )


def format_query_timestamp(moment: datetime) -> str:
    """Whole-second UTC form for ``startDate``/``endDate`` query parameters."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
