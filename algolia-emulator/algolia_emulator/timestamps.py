"""RFC 3339 timestamps as exact integer nanoseconds since the Unix epoch.

Profiles carry ``lastUpdatedAt`` in many equivalent spellings (``Z``, numeric
offsets, fractions of any length). Filters must compare instants, so every
timestamp is reduced to one integer; floats would merge instants that differ
by a microsecond at today's epoch magnitudes.
"""

from __future__ import annotations

import calendar
import re
import time

NS_PER_SECOND = 1_000_000_000

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def parse_rfc3339_ns(text: str) -> int:
    """Return the instant of an RFC 3339 date-time; raise ValueError if it is not one."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 date-time: {text!r}")
    y, mo, d, h, mi, s, fraction, zulu, sign, off_h, off_m = match.groups()
    year, month, day, hour, minute, second = int(y), int(mo), int(d), int(h), int(mi), int(s)
    # 60 is allowed for leap seconds; timegm folds it into the next minute.
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        raise ValueError(f"date-time field out of range: {text!r}")
    if day > calendar.monthrange(year, month)[1]:
        raise ValueError(f"no such day: {text!r}")
    offset_seconds = 0
    if not zulu:
        if int(off_h) > 23 or int(off_m) > 59:
            raise ValueError(f"offset out of range: {text!r}")
        offset_seconds = (int(off_h) * 3600 + int(off_m) * 60) * (1 if sign == "+" else -1)
    whole = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset_seconds
    nanos = int((fraction or "").ljust(9, "0")[:9])
    return whole * NS_PER_SECOND + nanos


def format_rfc3339(
    instant_ns: int, *, offset_minutes: int = 0, digits: int = 6, zulu: bool = True
) -> str:
    """Spell an instant; ``digits`` fractional digits (0 drops the fraction).

    ``zulu`` picks ``Z`` over ``+00:00`` when the offset is zero. Digits beyond
    what the instant holds are written as zeros, which is how ``.250`` arises.
    """
    local_ns = instant_ns + offset_minutes * 60 * NS_PER_SECOND
    whole, nanos = divmod(local_ns, NS_PER_SECOND)
    tm = time.gmtime(whole)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", tm)
    if digits > 0:
        text += "." + f"{nanos:09d}"[:digits]
    if offset_minutes == 0 and zulu:
        return text + "Z"
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def now_ns(clock_offset_seconds: float = 0.0) -> int:
    """The server's idea of now, which may be skewed on purpose."""
    return time.time_ns() + int(clock_offset_seconds * NS_PER_SECOND)


def format_now(clock_offset_seconds: float = 0.0) -> str:
    """Server-stamped timestamps use UTC with microseconds, as Algolia's examples do."""
    return format_rfc3339(now_ns(clock_offset_seconds), digits=6)
