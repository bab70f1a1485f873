"""What a profile is (profile_rules) and the page-token rule (PageTokens), as units.

The plugins' behaviour on such answers is tested through their CLIs in
tests/reliability/test_failed_reads.py; these pin the shared rules themselves.
"""

from __future__ import annotations

import typing as t

import pytest
import requests_mock as rm

from algolia_api import (
    AlgoliaClient,
    ConnectionSettings,
    InvalidSegmentsError,
    MalformedResponseError,
    PageCycleError,
    PageTokens,
    profile_problem,
)

URL = "https://api.test"


def client(**extra: t.Any) -> AlgoliaClient:
    settings = ConnectionSettings.from_config(
        {"app_id": "APP", "api_key": "k", "api_url": URL, "max_retries": 0, **extra}
    )
    return AlgoliaClient(settings, agent="test")


@pytest.mark.parametrize(
    ("profile", "problem"),
    [
        ({"userID": "u1"}, None),  # absent segments: none
        ({"userID": "u1", "segments": []}, None),
        ({"userID": "u1", "segments": [{"id": "v", "source": "crm", "extra": 1}]}, None),
        (None, "the profile is null, not an object"),
        ({}, "its userID is null, not a string"),
        ({"userID": "u2"}, "it is the profile of userID 'u2', not of 'u1'"),
        ({"userID": "u1", "segments": None}, "its segments field is null, not a list"),
        ({"userID": "u1", "segments": "vip"}, "its segments field is a string, not a list"),
        ({"userID": "u1", "segments": {}}, "its segments field is an object, not a list"),
        ({"userID": "u1", "segments": 1}, "its segments field is a number, not a list"),
        ({"userID": "u1", "segments": ["v"]}, "a segment is a string, not an {id, source}"),
        ({"userID": "u1", "segments": [{"id": "v"}]}, "a segment's source is None"),
        (
            {"userID": "u1", "segments": [{"id": "\ud800", "source": "c"}]},
            "a segment's id '\\ud800' is not",
        ),
    ],
)
def test_profile_problem(profile: t.Any, problem: str | None) -> None:
    found = profile_problem(profile, "u1")
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem), found


def test_page_tokens_refuse_a_repeat_and_a_cycle() -> None:
    tokens = PageTokens()
    assert [tokens.follow(x) for x in ("A", "B", "C")] == ["A", "B", "C"]
    with pytest.raises(PageCycleError, match="'A' a second time, after 4 pages"):
        tokens.follow("A")
    assert PageTokens().follow(None) is None
    assert PageTokens().follow("") is None


def test_the_list_scan_stops_at_a_cycle() -> None:
    with rm.Mocker() as mock:
        mock.get(
            f"{URL}/2/users",
            [{"json": {"users": [], "nextPageToken": token}} for token in "ABAB"],
        )
        with pytest.raises(PageCycleError):
            list(client().iter_user_pages())
        assert mock.call_count == 3


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (204, b"", "Algolia answered 204 to GET /2/users/u1 with an empty body"),
        (301, b"", "Algolia answered 301 to GET /2/users/u1 (a redirect, which is never followed)"),
        (200, b"", "with an empty body"),
        (200, b"<html>", "with a body that is not the documented JSON"),
        (200, b'{"userID": "u1", "segments": "x"}', "not the profile of 'u1' (its segments"),
    ],
)
def test_a_profile_read_that_is_not_the_profile_fails(status: int, body: bytes, words: str) -> None:
    with rm.Mocker() as mock:
        mock.get(f"{URL}/2/users/u1", status_code=status, content=body)
        with pytest.raises(MalformedResponseError) as raised:
            client().get_user("u1")
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


def test_segments_with_a_lone_surrogate_are_never_sent() -> None:
    with rm.Mocker() as mock:
        with pytest.raises(InvalidSegmentsError, match="not valid Unicode"):
            client().put_segments("u1", [{"id": "vip\udcff", "source": "meltano"}])
        assert mock.call_count == 0
