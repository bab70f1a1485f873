"""Base stream for the Algolia Advanced Personalization API: HTTP behaviour only.

Hosts, authentication, the User-Agent, error mapping, retry delays and
rate-limit pacing all come from :mod:`algolia_api`; this module plugs them
into singer-sdk's REST stream hooks.
"""

from __future__ import annotations

import logging
import sys
import typing as t
from datetime import datetime, timezone

import backoff
import requests
from singer_sdk.exceptions import AbortedSyncPausedException
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams import RESTStream
from typing_extensions import override

from algolia_api import (
    BASE_DELAY,
    RETRIABLE_EXCEPTIONS,
    AlgoliaAPIError,
    Page,
    PageCycleError,
    PageTokens,
    decode_page,
    log_retry,
    raise_for_response,
    wait_generator,
)
from tap_algolia.sdk_internals import is_sdk_unhandled_error_line

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from backoff.types import Details
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from algolia_api import ConnectionSettings
    from tap_algolia.tap import TapAlgolia


#: Exceptions the user already hears about in one line (algolia_api.sdk_cli_errors explains
#: API errors and exhausted retries; a --test run stops on purpose after one
#: record): singer-sdk's generic "unhandled error" line is not shown for them.
HANDLED_EXCEPTIONS = (
    AlgoliaAPIError,
    AbortedSyncPausedException,
    PageCycleError,
    *RETRIABLE_EXCEPTIONS,
)


class PassThroughAuth(requests.auth.AuthBase):
    """Leaves each request as it is: the API key headers are already on the session.

    algolia_api.build_session puts the authentication headers on the tap's one
    session. The stream still needs an authenticator because singer-sdk's
    default one re-encodes every URL, which would undo the form-style commas
    of list parameters.
    """

    @override
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class NextPageTokenPaginator(BaseAPIPaginator[t.Optional[str]]):  # noqa: UP045
    """Follows ``nextPageToken`` until a page comes back without one.

    A token seen before in this sync (the same one again, or a cycle) raises
    algolia_api.PageCycleError: the sync fails before its bookmark moves.
    """

    def __init__(self, token_of: Callable[[requests.Response], str | None]) -> None:
        super().__init__(None)
        self._token_of = token_of
        self._tokens = PageTokens()

    @override
    def get_next(self, response: requests.Response) -> str | None:
        return self._tokens.follow(self._token_of(response))

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        # A filtered page may be empty and still point to more profiles.
        return bool(self._token_of(response))


class AlgoliaStream(RESTStream[t.Optional[str]]):  # noqa: UP045
    """A paged, paced, retrying stream over one Algolia list endpoint."""

    #: Never follow redirects: the API key travels in a request header.
    allow_redirects = False
    #: Retriable statuses are decided by algolia_api.raise_for_response.
    extra_retry_statuses: t.Sequence[int] = ()
    #: First retry delay in seconds (doubles per retry, with jitter). Tests lower it.
    retry_base_delay: float = BASE_DELAY

    def __init__(self, tap: TapAlgolia, **kwargs: t.Any) -> None:
        #: The tap this stream reads for: its connection settings and session.
        self.tap = tap
        super().__init__(tap, **kwargs)
        self._page: tuple[requests.Response, Page] | None = None
        #: When the page being emitted was received: its records' ``time_extracted``.
        self.extracted_at = datetime.now(timezone.utc)

    # Connection -----------------------------------------------------------------

    @property
    def settings(self) -> ConnectionSettings:
        return self.tap.connection

    @property
    @override
    def url_base(self) -> str:
        return self.settings.base_url

    @property
    @override
    def requests_session(self) -> requests.Session:
        """The tap's one paced, authenticated session (see algolia_api.build_session)."""
        return self.tap.session

    @property
    @override
    def authenticator(self) -> PassThroughAuth:
        return PassThroughAuth()

    @property
    @override
    def user_agent(self) -> str:
        return self.tap.user_agent

    @property
    @override
    def timeout(self) -> int:
        return t.cast(int, self.settings.request_timeout)

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        # List parameters are documented as form style, explode false: a,b,c.
        request.safe_query_chars = ","
        return request

    # Responses --------------------------------------------------------------------

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Map error statuses (algolia_api), then decode the body once.

        Decoding here, inside the retried request, makes a cut-short or
        garbled body a retriable failure instead of a crash.
        """
        raise_for_response(response)
        page = decode_page(response)
        self._page = (response, page)
        self.extracted_at = datetime.now(timezone.utc)

    def decoded_page(self, response: requests.Response) -> Page:
        if self._page is None or self._page[0] is not response:
            self.validate_response(response)
        return t.cast(tuple, self._page)[1]

    def next_page_token(self, response: requests.Response) -> str | None:
        return self.decoded_page(response).nextPageToken

    @override
    def get_new_paginator(self) -> NextPageTokenPaginator:
        return NextPageTokenPaginator(self.next_page_token)

    # Retries ----------------------------------------------------------------------

    @override
    def request_decorator(self, func: Callable) -> Callable:
        """Retry exactly algolia_api.RETRIABLE_EXCEPTIONS, logging one line per retry.

        Same hooks as singer-sdk's decorator, but without the ``backoff``
        library's own log lines (they print call arguments).
        """
        decorator = backoff.on_exception(
            self.backoff_wait_generator,
            RETRIABLE_EXCEPTIONS,
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=None,
        )
        return decorator(func)

    @override
    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        """Exponential backoff with jitter; Retry-After/x-ratelimit-reset on a 429."""
        return wait_generator(base=self.retry_base_delay)

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # wait_generator adds its own jitter

    @override
    def backoff_max_tries(self) -> int:
        return self.settings.max_retries + 1

    @override
    def backoff_handler(self, details: Details) -> None:
        log_retry(self.logger, self.path, details, self.backoff_max_tries())

    @override
    def log(self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any) -> None:
        """Keep a failure the user can act on to the one line the CLI prints for it.

        singer-sdk logs a generic "unhandled error" line before re-raising; for
        the failures algolia_api.sdk_cli_errors explains, and for the planned stop of a
        ``--test`` run after one record, that line is demoted to DEBUG.
        """
        if level >= logging.ERROR and is_sdk_unhandled_error_line(message):
            error = sys.exc_info()[1]
            if isinstance(error, HANDLED_EXCEPTIONS):
                level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        return self.decoded_page(response).users
