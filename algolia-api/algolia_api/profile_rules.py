"""What a user profile is: the one check of an answer before anything is built on it.

A profile read from Algolia is the basis of a write: the target merges its
segments and PUTs the whole list back, replacing what was there. So an answer
that is not a profile of the requested user is a **failed read**, never "a
profile with no segments", or every other system's segments on it would be
overwritten with the target's own:

- a profile is a JSON object whose ``userID`` is a string (for
  ``GET /2/users/{userID}``: exactly the requested one);
- ``segments`` **absent** means no segments. Present, it is a list of
  ``{id, source}`` objects whose ``id`` and ``source`` are non-empty strings;
  anything else (``null``, a string, an object, a number, entries of another
  shape) is malformed, not empty;
- text is valid Unicode: a lone surrogate (``"\\ud800"`` escaped in JSON, or a
  byte that is not UTF-8) can neither be written back nor exported;
- depth does not matter where nothing is written from: a profile nested
  deeper than can be decoded is read field by field (:mod:`algolia_api.pages`),
  and is a profile to write on when its ``userID`` and ``segments`` were read
  in full (the depth is in another field, such as an affinity).

:func:`decode_profile` reads ``GET /2/users/{userID}`` under these rules and
raises :class:`algolia_api.pages.MalformedResponseError`, which the shared
retry policy retries like a 5xx. The list pages use :func:`profile_problem`
through :func:`decode_checked_page`; the tap checks the
segments of the profiles it emits with :func:`segment_list_problem`, the same
rule, without the extra pass (its records never hold a surrogate: see
:mod:`algolia_api.pages`).
"""

from __future__ import annotations

import typing as t
from decimal import Decimal

import msgspec

from algolia_api.errors import malformed_body_line, request_line
from algolia_api.pages import (
    MalformedResponseError,
    Page,
    UndecodableProfile,
    decode_json_value,
    decode_page,
    decode_profile_text,
    shown,
)

if t.TYPE_CHECKING:
    import requests


def json_kind(value: t.Any) -> str:
    """``null``, ``a boolean``, ``a number``, ``a string``, ``a list`` or ``an object``.

    How a value read from JSON is named in a message: by its JSON type, never
    Python's ("is a number, not a string", never "is a int").
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):  # singer-sdk reads 3.0 as Decimal
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def is_valid_text(value: str) -> bool:
    """False for a string holding a lone surrogate (it has no UTF-8 form)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def segment_problem(segment: t.Any, *, check_text: bool = False) -> str | None:
    """Why ``segment`` is not an ``{id, source}`` object of non-empty strings, or None.

    ``check_text`` also refuses a lone surrogate (for text that did not come
    from a strict UTF-8 decoder, and before any write).
    """
    if type(segment) is not dict:
        return f"a segment is {json_kind(segment)}, not an {{id, source}} object"
    for key in ("id", "source"):
        value = segment.get(key)
        if type(value) is not str or not value:
            return f"a segment's {key} is {shown(value)}, not a non-empty string"
        if check_text and not is_valid_text(value):
            return f"a segment's {key} {shown(value)} is not valid Unicode text"
    return None


def segment_list_problem(segments: list[t.Any], *, check_text: bool = False) -> str | None:
    """The first problem of a segment list's entries (see :func:`segment_problem`), or None.

    The tap runs this for every profile it emits: a valid entry costs a few
    type comparisons inline (JSON gives exact types), and only a bad one is
    looked at again to say why.
    """
    for segment in segments:
        if type(segment) is dict:
            segment_id = segment.get("id")
            source = segment.get("source")
            if (
                type(segment_id) is str
                and segment_id
                and type(source) is str
                and source
                and (not check_text or (is_valid_text(segment_id) and is_valid_text(source)))
            ):
                continue
        return segment_problem(segment, check_text=check_text)
    return None


def profile_problem(profile: t.Any, user_id: str | None = None) -> str | None:
    """Why ``profile`` is not a profile to build a write on (of ``user_id``, if given), or None."""
    if isinstance(profile, UndecodableProfile):
        # Too deep elsewhere (an affinity): the userID and segments, all a
        # write is built on, were read in full (algolia_api.pages).
        if not profile.segments_read:
            return profile.reason
    elif type(profile) is not dict:
        return f"the profile is {json_kind(profile)}, not an object"
    found = profile.get("userID")
    if type(found) is not str:
        return f"its userID is {json_kind(found)}, not a string"
    if user_id is not None and found != user_id:
        return f"it is the profile of userID {shown(found)}, not of {shown(user_id)}"
    if "segments" not in profile:
        return None  # absent: no segments (the segments contract)
    segments = profile["segments"]
    if type(segments) is not list:
        return f"its segments field is {json_kind(segments)}, not a list"
    return segment_list_problem(segments, check_text=True)


def profile_segments(profile: dict[str, t.Any]) -> list[dict[str, str]]:
    """The segment list of a profile :func:`profile_problem` accepted (absent: empty)."""
    return t.cast("list[dict[str, str]]", profile.get("segments", []))


def decode_profile(response: requests.Response, user_id: str) -> dict[str, t.Any]:
    """The profile of ``user_id`` in a success answer; MalformedResponseError for anything else.

    For an answer :func:`algolia_api.raise_for_response` let through (below
    400): a 204, a redirect (never followed: the key travels in a header), an
    empty or non-JSON body, or JSON that is not the requested user's profile.
    The error is retriable, so a passing glitch costs a retry and a lasting
    one fails the read, never a write built on it.
    """
    status = response.status_code
    what = f"Algolia answered {status} to {request_line(response.request)}"
    if not 200 <= status < 300:
        kind = "a redirect, which is never followed" if 300 <= status < 400 else "no profile"
        msg = f"{what} ({kind}): no profile was read, so none is written"
        raise MalformedResponseError(msg)
    body = response.content
    if not body.strip():
        msg = f"{what} with an empty body: no profile was read, so none is written"
        raise MalformedResponseError(msg)
    try:
        profile = decode_json_value(body)
    except RecursionError:
        # Nested deeper than msgspec goes: read field by field (algolia_api.pages).
        try:
            profile = decode_profile_text(body)
        except ValueError as exc:
            msg = f"{malformed_body_line(response, str(exc))}: nothing is written for it"
            raise MalformedResponseError(msg) from None
    except msgspec.DecodeError as exc:
        # Cut-short or HTML bodies, and text that is not valid Unicode (msgspec
        # refuses a lone surrogate escape, which could not be written back).
        msg = f"{malformed_body_line(response, str(exc))}: nothing is written for it"
        raise MalformedResponseError(msg) from None
    problem = profile_problem(profile, user_id)
    if problem is not None:
        msg = (
            f"{what} with a body that is not the profile of {shown(user_id)} ({problem}): "
            "nothing is written for it"
        )
        raise MalformedResponseError(msg)
    return t.cast("dict[str, t.Any]", profile)


def decode_checked_page(response: requests.Response) -> Page:
    """:func:`decode_page` for a client that writes from the page: every profile must be one.

    A profile that is not an object, has no string userID, or whose segments
    are malformed (see :func:`profile_problem`)
    makes the page a failed read (retried, then the scan fails), never a
    profile without segments.
    """
    page = decode_page(response)
    for position, profile in enumerate(page.users):
        problem = profile_problem(profile)
        if problem is not None:
            user_id = profile.get("userID") if isinstance(profile, dict) else None
            msg = (
                f"Algolia answered {response.status_code} to GET /2/users with a page whose "
                f"profile {position + 1} (userID {shown(user_id)}) is malformed: {problem}; "
                "nothing is written from that page"
            )
            raise MalformedResponseError(msg)
    return page


class InvalidSegmentsError(ValueError):
    """A segment list that must not be written (e.g. a lone surrogate); it is never sent."""


def check_segments_to_write(segments: t.Any) -> None:
    """Raise InvalidSegmentsError unless ``segments`` is a list Algolia can store as sent."""
    if type(segments) is not list:
        msg = f"segments to write are {json_kind(segments)}, not a list"
        raise InvalidSegmentsError(msg)
    problem = segment_list_problem(segments, check_text=True)
    if problem is not None:
        raise InvalidSegmentsError(problem)
