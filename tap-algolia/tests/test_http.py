"""HTTP behaviour in narrow cases (requests-mock): error mapping, retries, query encoding."""

from __future__ import annotations

import logging
import typing as t

import pytest
import requests_mock as rm

from algolia_api import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnprocessableError,
)

URL = "https://ai-personalization.eu.algolia.com/2/users"
KEY = "k3y-that-must-never-leak"
CONFIG = {"app_id": "MYAPP", "api_key": KEY, "region": "eu", "max_retries": 3}
USER = {
    "userID": "u1",
    "type": "basic",
    "lastUpdatedAt": "2026-11-02T10:15:00Z",
    "affinities": [],
}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (422, UnprocessableError),
    ],
)
def test_client_errors_fail_at_once_with_the_likely_cause(
    run_tap: t.Callable[..., t.Any], status: int, error: type[Exception]
) -> None:
    with rm.Mocker() as mock:
        mock.get(URL, status_code=status, json={"message": "nope", "status": status})
        run = run_tap(CONFIG, raise_errors=False)
        assert mock.call_count == 1  # not retried
    assert isinstance(run.error, error)
    message = str(run.error)
    assert KEY not in message
    assert "\n" not in message
    if status in (401, 403):
        assert "application ID" in message
        assert "ACLs (search, browse, recommendation)" in message
        assert "region" in message


def test_requests_carry_auth_agent_and_the_documented_query(
    run_tap: t.Callable[..., t.Any],
) -> None:
    config = {
        **CONFIG,
        "page_size": 2,
        "indices": ["products_EN", "products_FR"],
        "affinity": ["brand:Nike", "color"],
        "start_date": "2026-10-01T00:00:00Z",
        "overlap_seconds": 60,
    }
    with rm.Mocker() as mock:
        mock.get(
            URL,
            [
                {"json": {"users": [USER], "nextPageToken": "tok/1+"}},
                {"json": {"users": [{**USER, "userID": "u2"}]}},
            ],
        )
        run = run_tap(config)
        first, second = mock.request_history
    assert [r["userID"] for r in run.records] == ["u1", "u2"]
    assert first.headers["x-algolia-application-id"] == "MYAPP"
    assert first.headers["x-algolia-api-key"] == KEY
    assert first.headers["User-Agent"].startswith("tap-algolia/")
    query = first.url.split("?", 1)[1]
    assert "indices=products_EN,products_FR" in query
    assert "affinity=brand%3ANike,color" in query
    assert "startDate=2026-09-30T23%3A59%3A00Z" in query
    assert "limit=2" in query
    assert "endDate=" not in query  # a first import reads future-stamped profiles too
    assert "nextPageToken" not in query
    assert second.qs["nextpagetoken"] == ["tok/1+"]


def test_server_errors_and_a_cut_body_are_retried(
    run_tap: t.Callable[..., t.Any], fast_retries: None
) -> None:
    with rm.Mocker() as mock:
        mock.get(
            URL,
            [
                {"status_code": 503, "json": {"message": "down", "status": 503}},
                {"status_code": 200, "text": '{"users": [{"userID"'},
                {"json": {"users": [USER]}},
            ],
        )
        run = run_tap(CONFIG)
        assert mock.call_count == 3
    assert [r["userID"] for r in run.records] == ["u1"]


def test_retries_stop_after_max_retries(
    run_tap: t.Callable[..., t.Any], fast_retries: None
) -> None:
    with rm.Mocker() as mock:
        mock.get(URL, status_code=500, json={"message": "boom", "status": 500})
        run = run_tap(CONFIG, raise_errors=False)
        assert mock.call_count == CONFIG["max_retries"] + 1
    assert "500 from Algolia" in str(run.error)


def test_a_429_waits_as_long_as_retry_after_says(
    run_tap: t.Callable[..., t.Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    with rm.Mocker() as mock:
        mock.get(
            URL,
            [
                {
                    "status_code": 429,
                    "headers": {"Retry-After": "7"},
                    "json": {"message": "Too Many Requests", "status": 429},
                },
                {"json": {"users": [USER]}},
            ],
        )
        with caplog.at_level(logging.WARNING):
            run = run_tap(CONFIG)
    assert len(run.records) == 1
    assert len(slept) == 1
    assert 7.0 <= slept[0] <= 7.5
    retry_lines = [r.getMessage() for r in caplog.records if "Retrying" in r.getMessage()]
    assert len(retry_lines) == 1
    assert "429 from Algolia" in retry_lines[0]
    assert KEY not in caplog.text
