"""User IDs: Algolia's format, and that an ID can never escape its path segment."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algolia_api import InvalidUserIDError, segments_path, user_id_problem, user_path

LEGAL = string.ascii_letters + string.digits + "=+/-_"


@pytest.mark.parametrize(
    ("user_id", "path"),
    [
        ("alice", "/2/users/alice"),
        ("team/alice", "/2/users/team%2Falice"),
        ("a+b=c", "/2/users/a%2Bb%3Dc"),
        ("x" * 129, "/2/users/" + "x" * 129),
    ],
)
def test_valid_ids_are_encoded_as_one_segment(user_id: str, path: str) -> None:
    assert user_path(user_id) == path
    assert segments_path(user_id) == path + "/segments"


@pytest.mark.parametrize(
    "bad",
    [
        "..",
        "../admin",
        "%2F",
        "a?b",
        "a#b",
        "a b",
        "ünïcode",
        "ユーザー",
        "",
        "x" * 130,
        "a\nb",
        "a.b",
    ],
)
def test_ids_outside_the_format_are_refused_before_any_request(bad: str) -> None:
    assert user_id_problem(bad) is not None
    with pytest.raises(InvalidUserIDError):
        user_path(bad)


@pytest.mark.parametrize("bad", [None, 42, 4.2, ["a"], {"id": "a"}, True])
def test_non_strings_are_refused(bad: object) -> None:
    assert user_id_problem(bad) is not None


@given(st.text(alphabet=LEGAL, min_size=1, max_size=129))
def test_every_legal_id_stays_inside_one_path_segment(user_id: str) -> None:
    path = user_path(user_id)
    suffix = path.removeprefix("/2/users/")
    assert "/" not in suffix
    assert "?" not in suffix
    assert "#" not in suffix


@given(st.text(min_size=1, max_size=140))
def test_anything_accepted_is_in_the_legal_alphabet(user_id: str) -> None:
    if user_id_problem(user_id) is None:
        assert set(user_id) <= set(LEGAL)
        assert 1 <= len(user_id) <= 129
