"""Algolia's user-ID rules, and how an ID travels in a URL path."""

from __future__ import annotations

import re
import typing as t
from urllib.parse import quote

from algolia_api.profile_rules import is_valid_text, json_kind

MAX_USER_ID_LENGTH = 129
_USER_ID = re.compile(r"[A-Za-z0-9=+/_-]{1,129}")


class InvalidUserIDError(ValueError):
    """A user ID that Algolia would refuse; it is never sent."""


def user_id_problem(value: t.Any) -> str | None:
    """Say why ``value`` is not a valid Algolia user ID, or return None if it is."""
    if value is None:
        return "missing user ID"
    if not isinstance(value, str):
        return f"user ID is not a string (got {json_kind(value)})"
    if not value:
        return "empty user ID"
    if len(value) > MAX_USER_ID_LENGTH:
        return f"user ID is {len(value)} characters long; the limit is {MAX_USER_ID_LENGTH}"
    if not _USER_ID.fullmatch(value):
        if not is_valid_text(value):
            return (
                "user ID is not valid UTF-8 text (bytes that are not UTF-8, or a lone "
                "surrogate escape such as \\ud800)"
            )
        return "user ID has characters outside A-Z a-z 0-9 = + / - _"
    return None


def validate_user_id(value: t.Any) -> str:
    """Return ``value`` if it is a valid user ID, else raise InvalidUserIDError."""
    problem = user_id_problem(value)
    if problem:
        raise InvalidUserIDError(problem)
    return t.cast(str, value)


def user_path(user_id: str) -> str:
    """Path of one profile, the ID percent-encoded as a single segment (``a/b`` -> ``a%2Fb``)."""
    return "/2/users/" + quote(validate_user_id(user_id), safe="")


def segments_path(user_id: str) -> str:
    """Path of the segment write endpoint for one profile."""
    return user_path(user_id) + "/segments"
