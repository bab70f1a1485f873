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

Depth costs one profile, never the page: a profile nested deeper than the
decoders can go (msgspec and the standard library stop near 1,000 levels,
raising RecursionError) makes the page be split without recursion into its
profiles (:func:`_children`, a flat scan of the brackets outside strings),
each decoded on its own. The too-deep profile is split the same way into its
fields: those that decode are kept, and it becomes an
:class:`UndecodableProfile` naming the field too deep and its depth. The tap
skips, names and counts it; the target, which reads only ``userID`` and
``segments``, uses it when both were read (``segments_read``), as they are
when the depth is elsewhere (an affinity). Segments nested that deep are
malformed segments, refused like any other.

A list cursor seen before (:class:`PageTokens`) ends the scan: the same
``nextPageToken`` forever, or a cycle of them, would read the same pages
until the run is killed, spending the application's request budget.
"""

from __future__ import annotations

import json
import re
import typing as t
from itertools import accumulate

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

    def __init__(
        self,
        user_id: t.Any,
        reason: str,
        fields: t.Mapping[str, t.Any] | None = None,
        *,
        segments_read: bool = False,
    ) -> None:
        super().__init__(fields or {}, userID=user_id)
        self.reason = reason
        #: True when ``userID`` and ``segments`` (if sent) were read in full:
        #: the problem lies in another field, which a segments writer never reads.
        self.segments_read = segments_read


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


def _checked_text(profile: t.Any) -> t.Any:
    """``profile``, or an UndecodableProfile if it holds text that is not valid Unicode."""
    where = _bad_text_at(profile, "")
    if where is None:
        return profile
    user_id = profile.get("userID") if isinstance(profile, dict) else None
    return UndecodableProfile(
        user_id,
        f"{where} holds text that is not valid Unicode (a lone surrogate escape "
        "such as \\ud800, or bytes that are not UTF-8)",
    )


# One JSON token the flat scan cares about: a whole string (so brackets and
# commas inside text are skipped), or a bracket, a comma or a colon.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[][{},:]')
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


class _TooDeep(Exception):
    """A JSON value nested deeper than the decoders can go."""


def _children(body: bytes, open_at: int) -> tuple[list[tuple[int, int]], int]:
    """Spans of the direct members of the array or object opening at ``open_at``, and its end.

    A flat scan (no recursion, so any depth): only brackets, commas and
    colons outside strings count. ValueError if the container never closes.
    """
    depth = 0
    spans: list[tuple[int, int]] = []
    start = open_at + 1
    for match in _TOKENS.finditer(body, open_at):
        token = body[match.start()]
        if token in _OPEN:
            depth += 1
        elif token in _CLOSE:
            depth -= 1
            if depth == 0:
                if spans or body[start : match.start()].strip():
                    spans.append((start, match.start()))
                return spans, match.start()
        elif token == 0x2C and depth == 1:  # a comma between two members
            spans.append((start, match.start()))
            start = match.end()
    msg = "a bracket is never closed"
    raise ValueError(msg)


def _container(raw: bytes, opening: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """``raw`` stripped and the spans of its members; ValueError unless one such container."""
    text = raw.strip()
    if not text.startswith(opening):
        msg = f"expected {opening.decode()}"
        raise ValueError(msg)
    spans, end = _children(text, 0)
    if text[end + 1 :].strip():
        msg = "text after the closing bracket"
        raise ValueError(msg)
    return text, spans


def _members(raw: bytes) -> list[tuple[str, bytes]]:
    """An object's ``(key, value text)`` pairs, at any depth; ValueError if not an object."""
    text, spans = _container(raw, b"{")
    members: list[tuple[str, bytes]] = []
    for start, end in spans:
        piece = text[start:end]
        key = _TOKENS.search(piece)
        colon = _TOKENS.search(piece, key.end()) if key else None
        if (
            key is None
            or colon is None
            or piece[: key.start()].strip()
            or piece[key.end() : colon.start()].strip()
            or piece[colon.start() : colon.end()] != b":"
        ):
            msg = "an object member is not a key and a value"
            raise ValueError(msg)
        name = json.loads(key.group().decode("utf-8", "surrogateescape"))
        members.append((str(name), piece[colon.end() :]))
    return members


# A JSON string (its brackets are text); a bracket and the level it moves to.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """The deepest level of arrays and objects in the JSON ``text`` (0 for a scalar).

    One flat scan, no recursion, so it measures what no decoder can read; the
    target's input reader measures its lines with it too.
    """
    brackets = _BRACKET.findall(_STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)  # in C


#: Any JSON value, a number beyond float range read as inf (1e400 in an
#: affinity is no failed read: only the userID and the segments are checked).
decode_json_value = msgspec.json.Decoder(float_hook=float).decode


def _decode_value(raw: bytes) -> t.Any:
    """One JSON value: msgspec, else the standard library (text that is not valid Unicode).

    Raises _TooDeep when the value nests deeper than either can go, ValueError
    when it is not JSON.
    """
    try:
        return decode_json_value(raw)
    except RecursionError:
        raise _TooDeep from None
    except msgspec.DecodeError:
        pass
    try:
        return json.loads(raw.decode("utf-8", "surrogateescape"), parse_constant=_refuse_constant)
    except RecursionError:
        raise _TooDeep from None


def decode_profile_text(raw: bytes) -> t.Any:
    """One profile's JSON text, any depth; an UndecodableProfile when it cannot be read in full.

    ValueError when it is not JSON.
    """
    try:
        return _checked_text(_decode_value(raw))
    except (_TooDeep, RecursionError):
        return _too_deep_profile(raw)


def _too_deep_profile(raw: bytes) -> UndecodableProfile:
    """The fields of a too-deep profile that decode, the others named in the reason."""
    levels = nesting_depth(raw.decode("utf-8", "surrogateescape"))
    depth = (
        f"nested too deep to decode (the profile is {levels:,} levels deep; "
        "about 1,000 can be decoded)"
    )
    try:
        members = _members(raw)
    except ValueError:
        return UndecodableProfile(None, f"the profile is {depth}")
    fields: dict[str, t.Any] = {}
    deep: list[str] = []
    for name, value in members:
        try:
            fields[name] = _decode_value(value)
        except _TooDeep:
            deep.append(name)
    kept = {name: fields[name] for name in ("userID", "segments") if name in fields}
    try:
        readable = _bad_text_at(kept, "") is None
    except RecursionError:
        readable = False
    return UndecodableProfile(
        fields.get("userID"),
        f"{' and '.join(deep) or 'the profile'} is {depth}",
        kept,
        segments_read=readable and not {"userID", "segments"} & set(deep),
    )


def _decode_by_profile(body: bytes) -> Page:
    """The page, each profile decoded on its own (see the module's docstring); ValueError."""
    users: list[t.Any] | None = None
    token: t.Any = None
    for name, raw in _members(body):
        if name == "users":
            text, spans = _container(raw, b"[")
            users = [decode_profile_text(text[start:end]) for start, end in spans]
        elif name == "nextPageToken":
            try:
                token = _decode_value(raw)
            except _TooDeep:
                token = []
    if users is None or (token is not None and (type(token) is not str or _bad_text_at(token, ""))):
        msg = "not a page of profiles"
        raise ValueError(msg)
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
    body = response.content
    try:
        try:
            return _decode(body)
        except msgspec.ValidationError as exc:
            if "out of range" not in str(exc):
                raise
            return _decode_wide(body)
    except RecursionError:
        try:
            return _decode_by_profile(body)
        except ValueError as exc:
            raise _malformed(response, exc) from None
    except msgspec.DecodeError as exc:
        try:
            return _decode_by_profile(body)
        except ValueError:
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
