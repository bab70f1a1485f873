"""How the target reads its fields from sources that type them loosely: CSV files and CDC.

The rules, for every form (event, snapshot, mirror):

- **Empty is absent.** A field holding the empty string counts as absent,
  like ``null``: that is how a CSV file says a cell is empty (MeltanoLabs
  tap-csv sends every column as a string and has no null). A value of only
  spaces is not empty; it is a value, checked as one (and so rejected as a
  segment or event).
- **``segments`` as a string** is read one of two ways, chosen by its first
  character (surrounding spaces ignored): a JSON array of strings when it
  starts with ``[`` (``'["vip", "churn"]'``, ``'[]'`` for no audience), and
  otherwise audience IDs separated by commas (``"vip,churn"``, spaces around
  each ID ignored). A string is read whole or rejected whole, never in part:
  a ``[`` that does not open a valid JSON array of strings, an empty item
  (``"vip,,churn"``, a trailing comma), or a ``;`` or ``|`` in the
  comma-separated form (another separator, most likely, which would otherwise
  turn ``"vip;churn"`` into one audience of that name) is rejected with the
  reason. An audience ID with a comma, ``;`` or ``|`` in it can be sent in the
  JSON form.
- **Counts** (a mirror stream's ``count_field``) are whole numbers: a JSON
  integer, a number with no fractional part (``30.0``, ``3e1``), or a string
  of decimal digits (``"30"``, spaces around it ignored): :func:`whole_number`.
  A version (``ACTIVATE_VERSION``, a record's ``_sdc_table_version``) is read
  by the same rule, text aside: ``1700000000.0`` and ``1.7e9`` are 1700000000.
- **Deletes.** A record whose ``_sdc_deleted_at`` is set (anything but null
  or empty) reports a row deleted at the source, as change-data-capture taps
  send it (tap-postgres LOG_BASED, or a table soft-deleted by a Singer
  loader): the user has left the audiences the row names.
"""

from __future__ import annotations

import json
import re
import typing as t
from decimal import Decimal

from algolia_api import json_kind
from target_algolia.merge import clean_text, segment_id_problem
from target_algolia.outcomes import INVALID_SEGMENT, RecordRejected
from target_algolia.sdk_internals import DELETED_AT as SDK_DELETED_AT

#: The field Singer CDC sources set on a row deleted at the source (sdk_internals).
DELETED_AT = SDK_DELETED_AT

#: Why a deleted row without its user ID or audiences cannot be applied, and the fix.
DELETED_ROW_INCOMPLETE = (
    "a deleted row must carry its user ID and audiences (PostgreSQL LOG_BASED: a primary "
    "key on the user ID and segment columns, or ALTER TABLE ... REPLICA IDENTITY FULL)"
)

#: Separators that are not ours: in a comma-separated ``segments`` string they
#: almost surely separate audiences the sender meant as several.
_FOREIGN_SEPARATORS = (";", "|")

_DIGITS = re.compile(r"[0-9]+")

#: A whole number longer than this is no count or version: refused rather than
#: converted (``3e999999999`` would take gigabytes; Python refuses such text too).
_MOST_DIGITS = 4300


def present(value: t.Any) -> t.Any:
    """``value``, or None when it is the empty string (an empty CSV cell)."""
    return None if value == "" else value


def is_deleted(record: t.Mapping[str, t.Any]) -> bool:
    """Whether ``record`` reports a row deleted at the source."""
    return present(record.get(DELETED_AT)) is not None


def declares_deletes(schema: t.Any) -> bool:
    """Whether a stream's SCHEMA declares ``_sdc_deleted_at``: a change-data-capture stream."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return isinstance(properties, dict) and DELETED_AT in properties


def segment_list(value: t.Any) -> list[str]:
    """The audience IDs a ``segments`` value lists, each checked; raises RecordRejected.

    ``value`` is a list, or a string in one of the forms of the module rule.
    Every ID goes through :func:`~target_algolia.merge.clean_text` and
    :func:`~target_algolia.merge.segment_id_problem`, as list items always did.
    """
    if isinstance(value, str):
        items = _split(value)
    elif isinstance(value, list):
        items = value
    else:
        raise RecordRejected(
            INVALID_SEGMENT,
            f"'segments' is {json_kind(value)}: send a list, a JSON array "
            "or comma-separated audience IDs",
        )
    slugs = [clean_text(item) for item in items]
    for slug in slugs:
        problem = segment_id_problem(slug)
        if problem:
            raise RecordRejected(INVALID_SEGMENT, f"{problem} in 'segments'")
    return slugs


def _split(text: str) -> list[t.Any]:
    stripped = clean_text(text)
    shown = _shown(text)
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise RecordRejected(
                INVALID_SEGMENT,
                f"'segments' {shown} starts with '[' but is not a JSON array ({exc.msg}, "
                f"at character {exc.pos + 1})",
            ) from None
        except RecursionError:  # "[[[[..." nested deeper than the parser goes
            raise RecordRejected(
                INVALID_SEGMENT, f"'segments' {shown} nests arrays too deeply to be a list"
            ) from None
        if not isinstance(parsed, list):
            raise RecordRejected(
                INVALID_SEGMENT, f"'segments' {shown} starts with '[' but is not a JSON array"
            )
        return parsed
    if not stripped:
        raise RecordRejected(
            INVALID_SEGMENT,
            f"'segments' {shown} is only spaces: send '[]' for no audience",
        )
    for separator in _FOREIGN_SEPARATORS:
        if separator in stripped:
            raise RecordRejected(
                INVALID_SEGMENT,
                f"'segments' {shown} has a {separator!r}: separate audience IDs with "
                "commas, or send a JSON array",
            )
    items = stripped.split(",")
    if any(not clean_text(item) for item in items):
        raise RecordRejected(
            INVALID_SEGMENT,
            f"'segments' {shown} has an empty item between or after its commas",
        )
    return items


def _shown(text: str, limit: int = 80) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


def whole_number(value: t.Any, *, text: bool = True) -> int | None:
    """``value`` as a whole number, or None if it is not one (the module rule).

    singer-sdk reads ``3.0`` and ``3e0`` as Decimal: they are 3, as ``3`` is.
    ``3.5``, ``true`` and ``"3.0"`` are not whole numbers. ``text``: whether a
    string of decimal digits (spaces around it ignored) counts, as for a count
    a CSV file sends as text.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() >= _MOST_DIGITS:
            return None
        return int(value) if value == value.to_integral_value() else None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if text and isinstance(value, str):
        digits = clean_text(value)
        if len(digits) > _MOST_DIGITS or not _DIGITS.fullmatch(digits):
            return None
        return int(digits)
    return None
