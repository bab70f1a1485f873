"""How a value read from JSON is named in a message: by its JSON type, not Python's.

Users read "is a number, not a string", never "is a int".
"""

from __future__ import annotations

import typing as t


def json_kind(value: t.Any) -> str:
    """``null``, ``a boolean``, ``a number``, ``a string``, ``a list`` or ``an object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"
