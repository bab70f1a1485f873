"""One page of ``GET /2/users``: decoded once, a bad body retried, a repeated cursor refused.

Both the tap's stream and the target's list scan read pages through
:func:`decode_page`, so a 2xx answer that is cut short or garbled is retried
the same way everywhere instead of crashing one plugin and not the other.

Text that is not valid Unicode costs one profile, not the page: msgspec
refuses a page holding a lone surrogate escape (``"\\ud800"``) or a byte that
is not UTF-8, so such a page is decoded again, only then, by the standard
library (bytes that are not UTF-8 kept as lone surrogates), and each profile
holding such text is replaced by an :class:`UndecodableProfile` that names it
and says why. The tap skips and names that profile; the target refuses the
page (:func:`decode_checked_page`): it never writes from a page it cannot read
in full. A page that is not JSON even then is malformed, as before.

A list cursor seen before (:class:`PageTokens`) ends the scan: the same
``nextPageToken`` forever, or a cycle of them, would read the same pages
until the run is killed, spending the application's request budget.
"""

from __future__ import annotations

import json
import typing as t

import msgspec
import requests

from algolia_api.errors import malformed_body_line

#: Most profiles one list call returns (the API's maximum ``limit``).
MAX_PAGE_SIZE = 1000


class Page(msgspec.Struct):
    """One page of a list endpoint."""

    #: Each profile as sent: the tap checks them one by one, so one odd
    #: profile is skipped (profiles.build_record) instead of failing the page;
    #: the target, which writes from them, refuses the page instead
    #: (profile_rules.decode_checked_page).
    users: list[t.Any]
    nextPageToken: str | None = None


_decode = msgspec.json.Decoder(Page).decode
# msgspec refuses a number beyond float range (1e400) as a ValidationError. A
# page is decoded again with this slower decoder only then: the number becomes
# inf, and the one profile holding it is the caller's to refuse, not the page.
_decode_wide = msgspec.json.Decoder(Page, float_hook=float).decode


#: A shown value (a user ID, a page token) is cut to this many characters.
SHOWN = 60


def shown(value: t.Any) -> str:
    """``repr`` of a value for a message: one line, ASCII-safe escapes, at most :data:`SHOWN`."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


class MalformedResponseError(requests.exceptions.ContentDecodingError):
    """A 2xx answer whose body is not the documented JSON (e.g. cut short).

    A ContentDecodingError, so it is in algolia_api.RETRIABLE_EXCEPTIONS and
    algolia_api.sdk_cli_errors reports it as one line if retries run out.
    """


class UndecodableProfile(dict[str, t.Any]):
    """A listed profile holding text that is not valid Unicode, in place of the profile.

    A dict holding only the ``userID`` as sent (maybe itself undecodable), so
    code that names a profile by ``profile.get("userID")`` still can; never an
    exact ``dict``, so code that checks ``type(profile) is dict`` refuses it.
    ``reason`` says which field holds the text.
    """

    def __init__(self, user_id: t.Any, reason: str) -> None:
        super().__init__(userID=user_id)
        self.reason = reason


def _refuse_constant(name: str) -> t.NoReturn:
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def _bad_text_at(value: t.Any, where: str) -> str | None:
    """The path of the first string in ``value`` without a UTF-8 form, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "a value"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _bad_text_at(key, f"{where}.{key!r} (a key)") or _bad_text_at(
                item, f"{where}.{key}" if where else str(key)
            )
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _bad_text_at(item, f"{where}[{index}]")
            if found:
                return found
    return None


def _decode_lenient(body: bytes) -> Page | None:
    """The page, profiles with text that is not valid Unicode replaced; None if not JSON."""
    try:
        value = json.loads(body.decode("utf-8", "surrogateescape"), parse_constant=_refuse_constant)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("users"), list):
        return None
    token = value.get("nextPageToken")
    if token is not None and (not isinstance(token, str) or _bad_text_at(token, "")):
        return None
    users: list[t.Any] = []
    for profile in value["users"]:
        where = _bad_text_at(profile, "")
        if where is None:
            users.append(profile)
            continue
        user_id = profile.get("userID") if isinstance(profile, dict) else None
        users.append(
            UndecodableProfile(
                user_id,
                f"{where} holds text that is not valid Unicode (a lone surrogate escape "
                "such as \\ud800, or bytes that are not UTF-8)",
            )
        )
    return Page(users=users, nextPageToken=token)


def decode_page(response: requests.Response) -> Page:
    """The page in ``response``; raises MalformedResponseError for a bad body.

    Only a 2xx carries a page: a redirect (never followed, the key travels in
    a header) is not the answer, whatever its body holds.
    """
    if not 200 <= response.status_code < 300:
        msg = (
            f"Algolia answered {response.status_code} to GET /2/users, which is not a page "
            "(a redirect is never followed)"
        )
        raise MalformedResponseError(msg)
    try:
        try:
            return _decode(response.content)
        except msgspec.ValidationError as exc:
            if "out of range" not in str(exc):
                raise
            return _decode_wide(response.content)
    except msgspec.DecodeError as exc:
        page = _decode_lenient(response.content)
        if page is not None:
            return page
        raise _malformed(response, exc) from None
    except msgspec.ValidationError as exc:
        raise _malformed(response, exc) from None


def _malformed(response: requests.Response, exc: Exception) -> MalformedResponseError:
    return MalformedResponseError(malformed_body_line(response, str(exc)))


class PageCycleError(RuntimeError):
    """A list cursor repeated: following it would read the same pages forever."""


class PageTokens:
    """The page tokens one scan has followed; a token seen before ends it.

    Every token is kept (a few dozen bytes each: 1,000 tokens for a million
    profiles at 1,000 a page), so a cycle of any length is caught the first
    time it comes round, not only a token repeated at once.
    """

    def __init__(self, what: str = "GET /2/users") -> None:
        self.what = what
        self._seen: set[str] = set()

    @property
    def pages(self) -> int:
        return len(self._seen) + 1

    def follow(self, token: str | None) -> str | None:
        """``token`` (None or empty: the last page); raises PageCycleError if seen before."""
        if not token:
            return None
        if token in self._seen:
            msg = (
                f"Algolia's {self.what} sent the page token {shown(token)} a second time, "
                f"after {self.pages} pages: following it would read the same pages forever, "
                "so the run stops here and confirms nothing past it; rerun later, and "
                "report it to Algolia support if it persists"
            )
            raise PageCycleError(msg)
        self._seen.add(token)
        return token
