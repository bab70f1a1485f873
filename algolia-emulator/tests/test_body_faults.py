"""Body faults: the emulator serves a scripted odd answer, as is, in queue order."""

from __future__ import annotations

import typing as t

import pytest
import requests

from algolia_emulator import AdminError, EmulatorServer
from algolia_emulator.faults import BodyFault


class Raw:
    """Plain HTTP to the emulator: odd answers are the point, so no contract checks."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server

    def get(self, path: str, **kwargs: t.Any) -> requests.Response:
        return requests.get(
            self.server.url + path, headers=self.server.auth_headers, timeout=10, **kwargs
        )


@pytest.fixture
def raw(emulator: EmulatorServer) -> Raw:
    return Raw(emulator)


def test_an_odd_answer_is_served_as_is_then_the_real_one(
    emulator: EmulatorServer, raw: Raw
) -> None:
    user_id = raw.get("/2/users", params={"limit": 1}).json()["users"][0]["userID"]
    path = f"/2/users/{user_id}"
    emulator.admin.inject_body("<html>proxy</html>", status=200, path=path)
    emulator.admin.inject_body("", status=301, path=path, headers={"Location": "/elsewhere"})
    odd = raw.get(path)
    assert (odd.status_code, odd.text) == (200, "<html>proxy</html>")
    redirect = raw.get(path, allow_redirects=False)
    assert (redirect.status_code, redirect.content) == (301, b"")
    assert redirect.headers["Location"] == "/elsewhere"
    assert raw.get(path).json()["userID"] == user_id  # the faults are used up
    assert emulator.admin.stats()["injected"] == 2


def test_path_matches_exactly_and_a_sequence_is_served_in_order(
    emulator: EmulatorServer, raw: Raw
) -> None:
    one = raw.get("/2/users", params={"limit": 1}).json()["users"][0]["userID"]
    for token in ("A", "B"):
        emulator.admin.inject_body(
            f'{{"users": [], "nextPageToken": "{token}"}}', path="/2/users", method="GET"
        )
    assert raw.get(f"/2/users/{one}").json()["userID"] == one  # not /2/users itself
    assert raw.get("/2/users").json()["nextPageToken"] == "A"
    assert raw.get("/2/users").json()["nextPageToken"] == "B"
    assert "users" in raw.get("/2/users").json()
    assert emulator.admin.faults()["bodies"] == []


def test_raw_bytes_in_process(emulator: EmulatorServer, raw: Raw) -> None:
    emulator.emulator.faults.add_body(BodyFault(body=b'{"users": [{"userID": "\xff"}]}'))
    assert raw.get("/2/users").content == b'{"users": [{"userID": "\xff"}]}'


def test_a_bad_body_fault_is_refused(emulator: EmulatorServer) -> None:
    with pytest.raises(AdminError):
        emulator.admin.inject_body("x", status=99)
