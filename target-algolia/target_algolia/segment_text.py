"""Which characters a segment ID or a segment source may hold, and how spellings compare.

- **No invisible characters.** Text holding any Unicode control character
  (category Cc: ``\\x00``-``\\x1f``, ``\\x7f``-``\\x9f`` such as ``\\x85`` and
  ``\\x9b``), format character (Cf: zero-width space U+200B, zero-width joiner
  U+200D, byte-order mark U+FEFF, soft hyphen U+00AD, direction marks...), line
  separator (Zl, U+2028) or paragraph separator (Zp, U+2029) cannot be a
  segment ID (``invalid_segment``) nor the ``segment_source`` setting (refused
  at start-up, ``settings``). Such characters are invisible in the dashboard and in logs, so
  two IDs that look the same would be two segments. The categories are those
  of the Unicode database of the Python that runs the target.
- **No normalization.** IDs and sources are compared and written exactly as
  sent, code point for code point: the NFC spelling of ``café`` (``\\u00e9``)
  and its NFD spelling (``e`` + ``\\u0301``) are two segments. Normalizing
  would make the target remove or duplicate a segment written in the other
  spelling, by this target's earlier runs or by another system; a source that
  mixes spellings must pick one itself.
"""

from __future__ import annotations

import re
import unicodedata

#: Unicode categories a segment ID or source must not contain.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})

# Every ASCII character of those categories (ASCII has no Cf, Zl or Zp).
_ASCII_INVISIBLE = re.compile(r"[\x00-\x1f\x7f]")


def invisible_character(text: str) -> str | None:
    """The first Cc, Cf, Zl or Zp character of ``text``, or None if there is none."""
    if text.isascii():  # the common case, checked in C
        found = _ASCII_INVISIBLE.search(text)
        return found.group() if found else None
    for character in text:
        if unicodedata.category(character) in INVISIBLE_CATEGORIES:
            return character
    return None


def invisible_character_problem(what: str, text: str) -> str | None:
    """Why ``text`` cannot be a ``what`` (segment, segment_source), or None if it can."""
    character = invisible_character(text)
    if character is None:
        return None
    code = ord(character)
    name = unicodedata.name(character, "")
    named = f"U+{code:04X}" + (f" {name}" if name else "")
    return (
        f"{what} contains an invisible character ({named}, Unicode category "
        f"{unicodedata.category(character)}): control, format and line or paragraph "
        "separator characters are not allowed"
    )
