"""Algolia error responses mapped to exceptions that say what to do.

Every exception here is either retriable (the SDK's ``RetriableAPIError``, so
singer-sdk's backoff and our client retry it) or fatal (``FatalAPIError``).
Which statuses are retriable is decided in one place, :func:`is_retried_status`:
a 408 (request timeout), a rate-limit answer (429, 421) or a server fault (5xx);
every other error status would fail again the same way.
Messages name the status, the request and the likely cause, and never carry
the API key or request headers; the server's own message or body is quoted
as one short line (algolia_api.redaction), with the key masked if it echoes it.
"""

from __future__ import annotations

import contextlib
import math
import typing as t
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import urlsplit

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from algolia_api.redaction import MASK, excerpt, one_line

if t.TYPE_CHECKING:
    import requests

AUTH_HINT = (
    "check the application ID, the API key's ACLs (search, browse, recommendation) "
    "and the region (us or eu) of your Algolia application"
)

_HINTS: dict[int, str] = {
    400: "the request was malformed; this is a bug in the plugin or invalid input data",
    401: AUTH_HINT,
    403: AUTH_HINT,
    404: "no such profile or endpoint; check the user ID, the region and api_url",
    408: "Algolia or a proxy on the way timed out waiting for the request",
    422: "Algolia refused a parameter or user ID as unprocessable",
    429: "the application's rate limit (500 calls per minute) was exceeded",
    421: "the application's rate limit was exceeded",
}
RATE_LIMIT_STATUSES = frozenset({429, 421})
REQUEST_TIMEOUT_STATUS = 408


def is_retried_status(status: int) -> bool:
    """Whether an error answer with ``status`` is worth sending again, unchanged.

    The one rule both plugins follow: a request timeout (408), a rate-limit
    answer (429, 421) and a server fault (5xx) are transient; any other error
    status is the same answer next time.
    """
    return (
        status == REQUEST_TIMEOUT_STATUS
        or status in RATE_LIMIT_STATUSES
        or status >= HTTPStatus.INTERNAL_SERVER_ERROR
    )


class AlgoliaAPIError(Exception):
    """Base of every error Algolia answered with."""

    status: int
    api_message: str
    method: str
    path: str

    def __init__(
        self,
        status: int,
        api_message: str,
        *,
        method: str = "",
        path: str = "",
        response: requests.Response | None = None,
    ) -> None:
        self.status = status
        self.api_message = api_message
        self.method = method
        self.path = path
        hint = _HINTS.get(status) or (
            "Algolia had a server-side fault" if status >= 500 else "the request was refused"
        )
        where = f" on {method} {path}" if method else ""
        detail = f": {api_message}" if api_message else ""
        super().__init__(f"{status} from Algolia{where}{detail} ({hint})")
        # Set after super().__init__: RetriableAPIError's initialiser resets it.
        self.response = response


class AlgoliaFatalError(AlgoliaAPIError, FatalAPIError):
    """Not worth retrying: the same request would fail again."""


class AlgoliaRetriableError(AlgoliaAPIError, RetriableAPIError):
    """Transient: the same request may succeed later."""


class BadRequestError(AlgoliaFatalError):
    """400."""


class AuthenticationError(AlgoliaFatalError):
    """401: unknown application or key."""


class ForbiddenError(AlgoliaFatalError):
    """403: the key lacks an ACL."""


class NotFoundError(AlgoliaFatalError):
    """404: no such profile (the segment endpoint never creates one)."""


class UnprocessableError(AlgoliaFatalError):
    """422: a parameter or user ID outside the allowed format."""


class RateLimitError(AlgoliaRetriableError):
    """429 (or 421): over the per-application rate limit."""

    retry_after: float | None
    reset_at: float | None


class ServerError(AlgoliaRetriableError):
    """5xx."""


class RequestTimeoutError(AlgoliaRetriableError):
    """408: the server, or a proxy in front of it, gave up waiting for the request."""


_FATAL_BY_STATUS: dict[int, type[AlgoliaFatalError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    422: UnprocessableError,
}


def _api_message(response: requests.Response) -> str:
    """The server's own words, as one short line without the key (it may echo it)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text or ""
    else:
        if not (isinstance(body, dict) and isinstance(body.get("message"), str)):
            return ""
        text = body["message"]
    request = response.request
    sent_key = request.headers.get("x-algolia-api-key") if request is not None else None
    if isinstance(sent_key, str) and sent_key:
        text = text.replace(sent_key, MASK)
    return excerpt(text)


def _float_header(response: requests.Response, name: str) -> float | None:
    """A finite number from a header, or None (``NaN``, ``inf`` and words are not numbers)."""
    raw = response.headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` in seconds from now, in either of its HTTP forms; None if unusable.

    RFC 9110 allows delta-seconds (``120``) or an HTTP-date
    (``Wed, 21 Oct 2026 07:28:00 GMT``). A date is on the server's clock, so it
    is read against the same answer's ``Date`` when there is one (a host clock
    minutes off does not stretch or cut the wait). A negative result is 0
    (retry now); the caller caps a long one.
    """
    raw = (response.headers.get("retry-after") or "").strip()
    if not raw:
        return None
    seconds = _float_header(response, "retry-after")
    if seconds is not None:
        return max(0.0, seconds)
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000" or no zone: RFC 9110 dates are GMT
        moment = moment.replace(tzinfo=timezone.utc)
    reference = datetime.now(timezone.utc)
    server_now = response.headers.get("date")
    if server_now:
        with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
            reference = parsedate_to_datetime(server_now)
        if reference.tzinfo is None:
            reference = reference.replace(tzinfo=timezone.utc)
    try:
        return max(0.0, (moment - reference).total_seconds())
    except OverflowError:
        return None


def _request_target(response: requests.Response) -> tuple[str, str]:
    request = response.request
    if request is None:
        return "", ""
    path = (request.path_url or "").split("?", 1)[0]
    return request.method or "", path


def request_line(request: requests.PreparedRequest | requests.Request | None) -> str:
    """``GET /2/users/u1``: the method and path of a request (no query, no headers)."""
    url = getattr(request, "url", None)
    if request is None or not isinstance(url, str):
        return ""
    path = urlsplit(url).path or "/"
    return f"{request.method or ''} {path}".strip()


def malformed_body_line(response: requests.Response, detail: str) -> str:
    """One line for a success status whose body is not the documented JSON.

    Names Algolia, the status and the request, and quotes the start of the
    body as one short line (a proxy's HTML page becomes ``<html> <head> ...``).
    """
    where = request_line(response.request)
    start = excerpt(response.content[:120].decode("utf-8", "replace")) or "empty"
    return (
        f"Algolia answered {response.status_code}{' to ' + where if where else ''} with a body "
        f"that is not the documented JSON ({one_line(detail, 120)}; body: {start!r})"
    )


def error_for_response(response: requests.Response) -> AlgoliaAPIError | None:
    """Return the exception an error response maps to, or None for a success."""
    status = response.status_code
    if status < HTTPStatus.BAD_REQUEST:
        return None
    method, path = _request_target(response)
    message = _api_message(response)
    kwargs: dict[str, t.Any] = {"method": method, "path": path, "response": response}
    if status in RATE_LIMIT_STATUSES:
        error = RateLimitError(status, message, **kwargs)
        error.retry_after = retry_after_seconds(response)
        error.reset_at = _float_header(response, "x-ratelimit-reset")
        return error
    if is_retried_status(status):
        retried = RequestTimeoutError if status == REQUEST_TIMEOUT_STATUS else ServerError
        return retried(status, message, **kwargs)
    return _FATAL_BY_STATUS.get(status, AlgoliaFatalError)(status, message, **kwargs)


def raise_for_response(response: requests.Response) -> None:
    """Raise the mapped exception for an error response; do nothing on success."""
    error = error_for_response(response)
    if error is not None:
        raise error
