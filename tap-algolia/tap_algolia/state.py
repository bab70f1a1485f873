"""What a state file given to the tap must look like, checked before any API call.

A state file is JSON: an object whose optional ``bookmarks`` is an object of
stream name to stream state, and the ``users`` bookmark
(``replication_key_value``) is an RFC 3339 timestamp. Anything else stops the
run with one line that says what is wrong and how to fix it; a traceback, or
a sync that guesses, would be worse for an unattended schedule.
"""

from __future__ import annotations

import json
import typing as t

from algolia_api import parse_timestamp
from tap_algolia.json_kinds import json_kind
from tap_algolia.window import EPOCH

FIX = (
    "fix the file, or clear the stored state to import every profile again "
    "(meltano state clear --force <state-id>)"
)


class StateFileError(ValueError):
    """The state the tap was given cannot be used; ``str()`` is the one line to show."""


def parse_state_text(text: str) -> dict[str, t.Any]:
    """The state in a state file's text, or StateFileError."""
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"The state file is not valid JSON ({exc}): {FIX}"
        raise StateFileError(msg) from None
    check_state(state)
    return t.cast("dict[str, t.Any]", state)


def _kind(value: t.Any) -> str:
    return "null" if value is None else f"{json_kind(value)} ({json.dumps(value)[:60]})"


def check_state(state: t.Any, replication_key: str = "lastUpdatedAt") -> None:
    """Raise StateFileError unless ``state`` is a usable tap state."""
    if not isinstance(state, dict):
        msg = f"The state must be a JSON object, not {_kind(state)}: {FIX}"
        raise StateFileError(msg)
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        msg = (
            'The state\'s "bookmarks" must be an object of stream name to bookmark, '
            f"not {_kind(bookmarks)}: {FIX}"
        )
        raise StateFileError(msg)
    for stream, stream_state in bookmarks.items():
        if not isinstance(stream_state, dict):
            msg = (
                f'The state\'s bookmark for "{stream}" must be an object, '
                f"not {_kind(stream_state)}: {FIX}"
            )
            raise StateFileError(msg)
    users = bookmarks.get("users", {})
    value = users.get("replication_key_value")
    if value is None or users.get("replication_key", replication_key) != replication_key:
        return
    try:
        moment = parse_timestamp(value if isinstance(value, str) else "")
    except ValueError:
        msg = (
            'The state\'s bookmark for "users" (replication_key_value) must be an RFC 3339 '
            f"timestamp such as 2026-11-02T10:00:00.000000Z, not {_kind(value)}: {FIX}"
        )
        raise StateFileError(msg) from None
    if moment < EPOCH:
        msg = (
            'The state\'s bookmark for "users" (replication_key_value) is before '
            f"1970-01-01T00:00:00Z, earlier than any Algolia profile ({_kind(value)}): {FIX}"
        )
        raise StateFileError(msg)
