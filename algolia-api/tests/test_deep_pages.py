"""Decoding a list page holding a profile nested deeper than can be decoded.

The page is split into its profiles without recursion; only the too-deep
profile is replaced (by an UndecodableProfile naming the field and its
depth), the others are decoded as usual. A page that is not JSON stays a
malformed page. Narrow unit cases over a built response; the CLI cases over
the emulator are in tests/reliability/test_deep_profiles.py.
"""

from __future__ import annotations

import json
import typing as t

import pytest
import requests

from algolia_api import (
    MalformedResponseError,
    UndecodableProfile,
    decode_checked_page,
    decode_page,
    profile_problem,
)

DEEP = "[" * 3000 + "]" * 3000


def _response(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.request = requests.Request("GET", "https://x.example/2/users").prepare()
    return response


def _good(user_id: str) -> str:
    return json.dumps(
        {"userID": user_id, "segments": [{"id": "vip", "source": "crm"}], "type": "x]},{["}
    )


def _page(*profiles: str, token: str = "null") -> bytes:  # noqa: S107 (a page token)
    return f'{{"users": [{", ".join(profiles)}], "nextPageToken": {token}}}'.encode()


def _deep(field: str) -> str:
    segments = DEEP if field == "segments" else '[{"id": "s", "source": "m"}]'
    value = DEEP if field == "affinities" else "[]"
    return f'{{"userID": "deep", "segments": {segments}, "affinities": {value}}}'


def test_a_too_deep_affinity_costs_that_profile_only() -> None:
    page = decode_page(_response(_page(_good("a"), _deep("affinities"), _good("z"), token='"T"')))
    assert [u["userID"] for u in page.users] == ["a", "deep", "z"]
    assert page.users[0] == json.loads(_good("a"))  # brackets inside text are text
    assert page.nextPageToken == "T"
    deep = page.users[1]
    assert isinstance(deep, UndecodableProfile)
    assert deep.reason.startswith("affinities is nested too deep to decode")
    assert "3,001 levels deep" in deep.reason
    # What a segments writer reads was read in full: the target uses it.
    assert deep.segments_read
    assert dict(deep) == {"userID": "deep", "segments": [{"id": "s", "source": "m"}]}
    assert profile_problem(deep) is None
    assert len(decode_checked_page(_response(_page(_good("a"), _deep("affinities")))).users) == 2


def test_too_deep_segments_are_malformed_segments() -> None:
    page = decode_page(_response(_page(_good("a"), _deep("segments"))))
    deep = page.users[1]
    assert isinstance(deep, UndecodableProfile)
    assert not deep.segments_read
    assert "segments is nested too deep to decode" in t.cast(str, profile_problem(deep))
    with pytest.raises(MalformedResponseError, match=r"profile 2 \(userID 'deep'\) is malformed"):
        decode_checked_page(_response(_page(_good("a"), _deep("segments"))))


def test_a_too_deep_profile_that_is_not_an_object_is_named_by_position() -> None:
    page = decode_page(_response(_page(DEEP, _good("z"))))
    assert page.users[0].get("userID") is None
    assert page.users[0].reason.startswith("the profile is nested too deep to decode")
    assert page.users[1]["userID"] == "z"


def test_text_that_is_not_unicode_and_depth_on_one_page_cost_one_profile_each() -> None:
    body = _page(_good("a"), _deep("affinities"), '{"userID": "bad", "type": "\\ud800"}')
    page = decode_page(_response(body))
    assert [type(u) for u in page.users] == [dict, UndecodableProfile, UndecodableProfile]
    assert "not valid Unicode" in page.users[2].reason


@pytest.mark.parametrize(
    "body",
    [
        _page(_good("a"), DEEP)[:-40],  # cut short
        _page(_good("a"), DEEP).replace(b'"users"', b'"profiles"'),  # no users
        _page(_good("a"), DEEP, token="[" * 3000 + "]" * 3000),  # token not a string
        _page(_good("a"), DEEP) + b" trailing",
        _page(_good("a"), "", DEEP),  # an empty member
        b"[" + DEEP.encode() + b"]",
    ],
    ids=["cut-short", "no-users", "deep-token", "trailing-text", "empty-member", "not-an-object"],
)
def test_a_deep_page_that_is_not_a_page_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedResponseError, match="not the documented JSON"):
        decode_page(_response(body))
