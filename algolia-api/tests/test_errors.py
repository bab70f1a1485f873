"""Error mapping: which answers are retried, and what the user is told."""

from __future__ import annotations

import pytest
import requests
import requests_mock as rm
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from algolia_api import (
    AlgoliaFatalError,
    AuthenticationError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    UnprocessableError,
    error_for_response,
    is_retried_status,
)

URL = "https://ai-personalization.us.algolia.com/2/users/team%2Falice"
KEY = "k3y-that-must-not-leak"


def _response(status: int, body: object = None, headers: dict | None = None) -> requests.Response:
    with rm.Mocker() as mock:
        kwargs = {"status_code": status, "headers": headers or {}}
        if body is None:
            kwargs["text"] = ""
        else:
            kwargs["json"] = body
        mock.get(URL, **kwargs)
        return requests.get(URL, headers={"x-algolia-api-key": KEY}, timeout=5)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (422, UnprocessableError),
    ],
)
def test_client_errors_are_fatal(status: int, cls: type) -> None:
    error = error_for_response(_response(status, {"message": "nope", "status": status}))
    assert isinstance(error, cls)
    assert isinstance(error, FatalAPIError)
    assert not isinstance(error, RetriableAPIError)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retriable(status: int) -> None:
    error = error_for_response(_response(status, {"message": "Internal Server Error"}))
    assert isinstance(error, ServerError)
    assert isinstance(error, RetriableAPIError)


@pytest.mark.parametrize("status", [429, 421])
def test_rate_limit_is_retriable_and_carries_the_server_hints(status: int) -> None:
    response = _response(
        status,
        {"message": "Too Many Requests", "status": status},
        {"Retry-After": "7", "x-ratelimit-reset": "1700000060"},
    )
    error = error_for_response(response)
    assert isinstance(error, RateLimitError)
    assert isinstance(error, RetriableAPIError)
    assert error.retry_after == 7.0
    assert error.reset_at == 1700000060.0
    assert error.response is response


def test_a_request_timeout_is_retriable_like_a_server_fault() -> None:
    error = error_for_response(_response(408, {"message": "Request Timeout", "status": 408}))
    assert isinstance(error, RequestTimeoutError)
    assert isinstance(error, RetriableAPIError)
    assert not isinstance(error, FatalAPIError)
    assert "408 from Algolia on GET /2/users/team%2Falice" in str(error)
    assert "timed out" in str(error)


@pytest.mark.parametrize(
    ("status", "retried"),
    [
        *((status, False) for status in (400, 401, 403, 404, 405, 409, 410, 413, 422, 499)),
        *((status, True) for status in (408, 421, 429, 500, 501, 502, 503, 504, 599)),
    ],
)
def test_the_retried_statuses_are_timeouts_rate_limits_and_server_faults(
    status: int, retried: bool
) -> None:
    assert is_retried_status(status) is retried
    # The mapped exception follows the same rule, so every caller retries the same answers.
    error = error_for_response(_response(status, {"message": "x", "status": status}))
    assert isinstance(error, RetriableAPIError) is retried
    assert isinstance(error, AlgoliaFatalError) is not retried


def test_success_maps_to_nothing() -> None:
    assert error_for_response(_response(200, {"users": []})) is None


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_name_the_likely_causes(status: int) -> None:
    message = str(error_for_response(_response(status, {"message": "Unauthorized"})))
    assert message.startswith(f"{status} from Algolia on GET /2/users/team%2Falice")
    for cause in ("application ID", "ACLs", "search, browse, recommendation", "region"):
        assert cause in message


def test_messages_never_carry_the_key_or_query() -> None:
    for status in (400, 401, 403, 404, 422, 429, 500):
        message = str(error_for_response(_response(status, {"message": "x"})))
        assert KEY not in message
        assert "\n" not in message


def test_non_json_error_body_is_tolerated() -> None:
    with rm.Mocker() as mock:
        mock.get(URL, status_code=502, text="<html>Bad Gateway</html>")
        response = requests.get(URL, timeout=5)
    error = error_for_response(response)
    assert isinstance(error, ServerError)
    assert "502 from Algolia" in str(error)
