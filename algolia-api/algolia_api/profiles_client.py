"""A small client for the endpoints the plugins call outside singer-sdk streams.

The target reads, writes and deletes one profile at a time through it, and
both plugins use it to check credentials. Retries, pacing and error mapping come from the
shared policy modules, never from here.
"""

from __future__ import annotations

import logging
import threading
import typing as t

import backoff
import requests

from algolia_api.errors import NotFoundError, malformed_body_line, raise_for_response
from algolia_api.http import build_session, session_stats
from algolia_api.pacing import RateLimitPacer
from algolia_api.pages import MAX_PAGE_SIZE, MalformedResponseError, Page, PageTokens
from algolia_api.profile_rules import check_segments_to_write, decode_checked_page, decode_profile
from algolia_api.retry import RETRIABLE_EXCEPTIONS, wait_generator
from algolia_api.user_ids import segments_path, user_path

if t.TYPE_CHECKING:
    from algolia_api.http import CallStats
    from algolia_api.settings import ConnectionSettings

Segment = dict[str, str]


def describe_failure(error: BaseException) -> str:
    """One line for a failed request, safe to log (no headers, no key)."""
    if isinstance(error, requests.exceptions.Timeout):
        return "request timed out"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "connection failed or was dropped"
    return str(error)


def log_retry(
    logger: logging.Logger, what: str, details: t.Mapping[str, t.Any], max_tries: int
) -> None:
    """One warning per retry, from a ``backoff`` event: what, when, which try, why."""
    error = details.get("exception")
    logger.warning(
        "Retrying %s in %.1fs (attempt %d of %d): %s",
        what,
        details.get("wait") or 0.0,
        details.get("tries", 0) + 1,
        max_tries,
        describe_failure(error) if error else "unknown failure",
    )


class AlgoliaClient:
    """Paced, retrying access to one Algolia application's personalization API."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        agent: str,
        pacer: RateLimitPacer | None = None,
        pool_size: int = 10,
        logger: logging.Logger | None = None,
    ) -> None:
        self.settings = settings
        self.pacer = pacer or RateLimitPacer()
        self.session = build_session(settings, agent=agent, pacer=self.pacer, pool_size=pool_size)
        self.logger = logger or logging.getLogger("algolia_api")
        self._retries = 0
        self._lock = threading.Lock()

    @property
    def stats(self) -> CallStats:
        return session_stats(self.session)

    @property
    def retries(self) -> int:
        return self._retries

    def _on_backoff(self, details: t.Mapping[str, t.Any]) -> None:
        with self._lock:
            self._retries += 1
        what = details.get("kwargs", {}).get("path") or "request"
        log_retry(self.logger, what, details, self.settings.max_retries + 1)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: t.Mapping[str, t.Any] | None = None,
        json: t.Any = None,
        decode: t.Callable[[requests.Response], t.Any] | None = None,
    ) -> t.Any:
        """Send one request, retrying transient failures; return the decoded body.

        ``decode`` turns the response into the result inside the retried call,
        so a garbled body is retried like a dropped connection.
        """
        send = backoff.on_exception(
            wait_generator,
            RETRIABLE_EXCEPTIONS,
            max_tries=self.settings.max_retries + 1,
            jitter=None,
            # A stopped pacer means the run is ending: no retry, no sleep before it.
            giveup=lambda _error: self.pacer.stopped,
            on_backoff=self._on_backoff,
            logger=None,
        )(self._send_once)
        return send(method=method, path=path, params=params, json=json, decode=decode)

    def _send_once(
        self,
        *,
        method: str,
        path: str,
        params: t.Mapping[str, t.Any] | None,
        json: t.Any,
        decode: t.Callable[[requests.Response], t.Any] | None,
    ) -> t.Any:
        response = self.session.request(
            method,
            self.settings.base_url + path,
            params=params,
            json=json,
            timeout=self.settings.request_timeout,
            allow_redirects=False,
        )
        raise_for_response(response)
        if decode is not None:
            return decode(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:  # an HTML page, a body cut short: retried, then one line
            raise MalformedResponseError(malformed_body_line(response, "not JSON")) from None

    def get_user(self, user_id: str) -> dict[str, t.Any]:
        """The profile of ``user_id``; raises NotFoundError if there is none.

        Any other answer that is not that user's profile (a 204, a redirect, an
        empty, HTML or cut-short body, another user's profile, malformed
        segments) is retried and then raises MalformedResponseError: see
        :mod:`algolia_api.profile_rules`.
        """
        path = user_path(user_id)
        return t.cast(
            dict,
            self.request("GET", path, decode=lambda response: decode_profile(response, user_id)),
        )

    def put_segments(self, user_id: str, segments: list[Segment]) -> dict[str, t.Any]:
        """Replace the whole segment list of ``user_id``.

        Raises InvalidSegmentsError, before any request, for a list Algolia
        could not store as sent (an entry that is not ``{id, source}``, text
        with a lone surrogate).
        """
        path = segments_path(user_id)
        check_segments_to_write(segments)
        return t.cast(dict, self.request("PUT", path, json={"segments": segments}))

    def delete_user(self, user_id: str) -> dict[str, t.Any] | None:
        """``DELETE /2/users/{userID}``: Algolia's answer (``deletedAt``, ``deletedUntil``...).

        None when Algolia answers 404: the profile is already gone, which is
        what the caller asked for, so it is not an error. Other failures raise
        as every call does (401/403 end the run; 5xx and 429 are retried).
        """
        try:
            answer = self.request("DELETE", user_path(user_id))
        except NotFoundError:
            return None
        return answer if isinstance(answer, dict) else {}

    def list_users(self, **params: t.Any) -> dict[str, t.Any]:
        """One page of ``GET /2/users``."""
        return t.cast(dict, self.request("GET", "/2/users", params=params))

    def iter_user_pages(
        self, *, limit: int = MAX_PAGE_SIZE, **params: t.Any
    ) -> t.Iterator[list[dict[str, t.Any]]]:
        """Every page of ``GET /2/users`` in userID order, one paced, retried call each.

        A page that still fails after the retries raises, ending the iteration:
        a caller never sees a scan with a silent hole in it. So does a page
        with a profile that is not one (:func:`decode_checked_page`) and a
        page token seen before (PageCycleError).
        """
        tokens = PageTokens()
        token: str | None = None
        while True:
            query = {"limit": limit, **params}
            if token:
                query["nextPageToken"] = token
            page: Page = self.request("GET", "/2/users", params=query, decode=decode_checked_page)
            yield page.users
            token = tokens.follow(page.nextPageToken)
            if token is None:
                return

    def check_credentials(self) -> None:
        """Cheapest call that proves the app ID, key, ACLs and region; raises on failure."""
        self.list_users(limit=1)

    def close(self) -> None:
        self.session.close()
