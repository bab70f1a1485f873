"""Numbers as singer-sdk delivers them, and values shown as the input wrote them.

singer-sdk reads every JSON number with a fraction or an exponent as a
:class:`~decimal.Decimal` (``1700000000.5``, ``3.0``, ``1e3``) and every other
number as an ``int``. The rules:

- **STATE passes through unchanged.** A STATE is written back with
  :func:`json_text`, which writes a ``Decimal`` as the digits it was read from
  (``1700000000.5`` stays ``1700000000.5``, never ``"1700000000.5"`` or a
  rounded float; ``1.5e1``, which Decimal holds as ``15``, is written ``15.0``
  and so stays a float) and an integer of any size exactly. An integer longer than
  Python converts from text by default (4,300 digits) is read as a ``Decimal``
  holding the same integer (:func:`decode_json`), so it too comes back digit
  for digit. (``NaN`` and ``Infinity`` are not JSON; singer-sdk writes them as
  ``null``, and so does the target.)
- **A whole number is a whole number however it is spelled**: ``3``, ``3.0``,
  ``3e0`` and, where text is accepted (a count read from a CSV file), ``"3"``
  are all 3 (:func:`target_algolia.input.source_fields.whole_number`, with the
  other rules for the fields a record is read by).
- **Values are quoted as JSON** (:func:`shown`) in messages and files, as the
  input wrote them: ``3.0``, ``"3"``, ``null``, never a Python repr such as
  ``Decimal('3.0')`` or ``None``. Characters that would not show (controls,
  format characters, line separators) are written as JSON escapes (``\\u2028``).
"""

from __future__ import annotations

import json
import typing as t
import unicodedata
from decimal import Decimal

from singer_sdk.singerlib.json import deserialize_json, serialize_json

from target_algolia.segment_text import INVISIBLE_CATEGORIES

#: Characters of a value kept in a message (the rest is cut, marked "...").
SHOWN_LIMIT = 120

# Shown escaped: invisible in a log line, or not text at all (a lone surrogate).
_ESCAPED_CATEGORIES = INVISIBLE_CATEGORIES | {"Cs"}


class LongInteger(Decimal):
    """An integer too long for ``int(text)``: kept exact, and written as an integer."""


def json_text(value: t.Any, *, ensure_ascii: bool = True) -> str:
    """``value`` as one line of JSON, each ``Decimal`` written as its own digits."""
    return serialize_json(_floats_kept(value), ensure_ascii=ensure_ascii)


def _floats_kept(value: t.Any) -> t.Any:
    """``value`` with each Decimal read from a float spelled as a float.

    ``Decimal("1.5e1")`` is ``Decimal("15")``, whose digits alone would read
    back as the integer 15: it is written ``15.0``, the same number, still a float.
    """
    if isinstance(value, dict):
        return {key: _floats_kept(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_floats_kept(item) for item in value]
    if isinstance(value, Decimal) and not isinstance(value, LongInteger) and value.is_finite():
        text = str(value)
        if "." not in text and "E" not in text:
            return Decimal(text + ".0")
    return value


def shown(value: t.Any, limit: int = SHOWN_LIMIT) -> str:
    """``value`` for a message: JSON, as the input wrote it, cut after ``limit`` characters."""
    try:
        text = json_text(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # not from JSON input: say what it is
        text = str(value)
    if not text.isascii():  # invisible characters and lone surrogates as JSON escapes
        text = "".join(_escaped(character) for character in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _escaped(character: str) -> str:
    if unicodedata.category(character) not in _ESCAPED_CATEGORIES:
        return character
    code = ord(character)
    if code > 0xFFFF:  # JSON escapes it as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _integer(text: str) -> int | Decimal:
    """An integer of any length: past Python's text-conversion limit, an exact Decimal."""
    try:
        return int(text)
    except ValueError:
        return LongInteger(text)


def decode_json(text: str) -> t.Any:
    """``text`` decoded as singer-sdk decodes it, and an integer of any size kept exactly.

    singer-sdk's decoder fails with a ValueError on an integer of more than
    4,300 digits (Python's limit on converting text to int). Only then is the
    text decoded again, with such integers read as Decimal: no cost for others.
    """
    try:
        return deserialize_json(text)
    except json.JSONDecodeError:
        raise
    except ValueError:
        return deserialize_json(text, parse_int=_integer)
