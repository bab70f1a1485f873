"""One page of ``GET /2/users``: decoded once, and a bad body is a retriable failure.

Both the tap's stream and the target's list scan read pages through
:func:`decode_page`, so a 2xx answer that is cut short or garbled is retried
the same way everywhere instead of crashing one plugin and not the other.
"""

from __future__ import annotations

import typing as t

import msgspec
import requests

from algolia_api.errors import malformed_body_line

#: Most profiles one list call returns (the API's maximum ``limit``).
MAX_PAGE_SIZE = 1000


class Page(msgspec.Struct):
    """One page of a list endpoint."""

    #: Each profile as sent: callers check them one by one, so one odd
    #: profile is skipped (the tap's profiles.build_record, the target's scan)
    #: instead of failing the whole page.
    users: list[t.Any]
    nextPageToken: str | None = None


_decode = msgspec.json.Decoder(Page).decode
# msgspec refuses a number beyond float range (1e400) as a ValidationError. A
# page is decoded again with this slower decoder only then: the number becomes
# inf, and the one profile holding it is the caller's to refuse, not the page.
_decode_wide = msgspec.json.Decoder(Page, float_hook=float).decode


class MalformedResponseError(requests.exceptions.ContentDecodingError):
    """A 2xx answer whose body is not the documented JSON (e.g. cut short).

    A ContentDecodingError, so it is in algolia_api.RETRIABLE_EXCEPTIONS and
    algolia_api.sdk_cli_errors reports it as one line if retries run out.
    """


def decode_page(response: requests.Response) -> Page:
    """The page in ``response``; raises MalformedResponseError for a bad body."""
    try:
        try:
            return _decode(response.content)
        except msgspec.ValidationError as exc:
            if "out of range" not in str(exc):
                raise
            return _decode_wide(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedResponseError(malformed_body_line(response, str(exc))) from None
