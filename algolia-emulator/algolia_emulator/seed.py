"""Deterministic synthetic user profiles.

The same ``(count, seed)`` always yields byte-identical profiles: the base
period is fixed (not relative to today) and only ``random.Random`` methods
whose output is stable across Python releases are used.
"""

from __future__ import annotations

import calendar
import random
from typing import Any

from .gcpause import gc_paused
from .timestamps import NS_PER_SECOND, format_rfc3339

PERIOD_START_NS = calendar.timegm((2026, 8, 1, 0, 0, 0, 0, 0, 0)) * NS_PER_SECOND
PERIOD_END_NS = calendar.timegm((2026, 11, 1, 0, 0, 0, 0, 0, 0)) * NS_PER_SECOND

INDICES = ("products", "products_EN", "products_FR")
AFFINITY_VALUES: dict[str, tuple[str, ...]] = {
    "brand": ("Nike", "Adidas", "Puma", "Dyson", "Levis"),
    "category": ("shoes", "shirts", "vacuums", "jeans", "outdoor"),
    "color": ("black", "white", "red", "blue", "green"),
}
SEGMENT_SOURCES = ("crm", "cdp")
SEGMENT_IDS = ("vip", "churn_risk", "newsletter", "high_value", "new_customer")

# (fraction digits the instant really has, digits written). Writing more
# digits than the instant holds gives spellings such as ``.250``.
_PRECISIONS = ((0, 0), (1, 1), (2, 3), (3, 3), (6, 6), (0, 3))
# Offsets in minutes; None means ``Z``. ``+00:00`` and ``-00:00`` are legal
# RFC 3339 spellings of UTC that clients must not confuse with local time.
_OFFSETS: tuple[int | None, ...] = (None, None, None, 60, -300, 330, -210, 0, 345, -720, 840)


def _below(rng: random.Random, bound: int) -> int:
    # random() is both stable across Python releases and several times faster
    # than randrange(), which matters when seeding 200,000 profiles.
    return int(rng.random() * bound)


def _user_id(index: int, rng: random.Random) -> str:
    """Mostly ``user-000123``; about one in six uses the other legal characters."""
    roll = _below(rng, 24)
    if index == 3:
        # One maximal-length ID so clients meet the 129-character edge.
        return f"long-{index:06d}-".ljust(129, "z")
    if roll == 0:
        return f"team/user-{index:06d}"
    if roll == 1:
        return f"user_{index:06d}"
    if roll == 2:
        return f"u={index:06d}"
    if roll == 3:
        return f"ab+{index:06d}"
    return f"user-{index:06d}"


def _instant(rng: random.Random, true_digits: int) -> int:
    span_seconds = (PERIOD_END_NS - PERIOD_START_NS) // NS_PER_SECOND
    seconds = _below(rng, span_seconds)
    fraction_ns = 0
    if true_digits:
        unit = 10 ** (9 - true_digits)
        fraction_ns = _below(rng, 10**true_digits) * unit
    return PERIOD_START_NS + seconds * NS_PER_SECOND + fraction_ns


def _digits_needed(instant_ns: int) -> int:
    nanos = instant_ns % NS_PER_SECOND
    if nanos == 0:
        return 0
    return len(f"{nanos:09d}".rstrip("0"))


def _spell(rng: random.Random, instant_ns: int, written_digits: int) -> str:
    offset = _OFFSETS[_below(rng, len(_OFFSETS))]
    if offset is None:
        return format_rfc3339(instant_ns, digits=written_digits)
    return format_rfc3339(instant_ns, offset_minutes=offset, digits=written_digits, zulu=False)


def _random_timestamp(rng: random.Random) -> tuple[int, str]:
    true_digits, written = _PRECISIONS[_below(rng, len(_PRECISIONS))]
    instant = _instant(rng, true_digits)
    return instant, _spell(rng, instant, written)


def _affinities(rng: random.Random, user_instant: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(_below(rng, 6)):
        name = ("brand", "category", "color")[_below(rng, 3)]
        values = AFFINITY_VALUES[name]
        value = values[_below(rng, len(values))]
        if (name, value) in seen:
            continue
        seen.add((name, value))
        mask = 1 + _below(rng, 7)  # a non-empty subset of the three indices
        chosen = [ix for bit, ix in enumerate(INDICES) if mask >> bit & 1]
        # An affinity cannot be newer than the profile it belongs to.
        back = _below(rng, 30 * 86400) * NS_PER_SECOND
        instant = max(PERIOD_START_NS, user_instant - back)
        out.append(
            {
                "name": name,
                "value": value,
                "score": 1 + _below(rng, 20),
                "indices": chosen,
                "lastUpdatedAt": format_rfc3339(instant, digits=0),
            }
        )
    return out


def _segments(rng: random.Random) -> list[dict[str, str]] | None:
    roll = _below(rng, 10)
    if roll < 2:
        return None  # key absent: the contract reads that as no segments
    if roll == 2:
        return []
    pairs: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(1 + _below(rng, 3)):
        pair = (
            SEGMENT_IDS[_below(rng, len(SEGMENT_IDS))],
            SEGMENT_SOURCES[_below(rng, len(SEGMENT_SOURCES))],
        )
        if pair not in seen:
            seen.add(pair)
            pairs.append({"id": pair[0], "source": pair[1]})
    return pairs


def generate_users(count: int, seed: int) -> list[dict[str, Any]]:
    """Build ``count`` profiles, in generation order (not sorted)."""
    with gc_paused():
        return _generate(count, seed)


def _generate(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    users: list[dict[str, Any]] = []
    previous_instant: int | None = None
    for index in range(count):
        user_id = _user_id(index, rng)
        if previous_instant is not None and _below(rng, 8) == 0:
            # Same instant as the previous profile in another spelling, so
            # filters that compare strings instead of instants are caught.
            instant = previous_instant
            needed = _digits_needed(instant)
            written = max(needed, (0, 3, 6)[_below(rng, 3)])
            stamp = _spell(rng, instant, written)
        else:
            instant, stamp = _random_timestamp(rng)
        previous_instant = instant
        user: dict[str, Any] = {
            "userID": user_id,
            "type": "basic",
            "lastUpdatedAt": stamp,
            "affinities": _affinities(rng, instant),
        }
        segments = _segments(rng)
        if segments is not None:
            user["segments"] = segments
        users.append(user)
    return users
