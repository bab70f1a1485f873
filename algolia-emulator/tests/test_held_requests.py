"""Held requests: a test can keep the n-th matching API call waiting at a chosen step.

"before" holds the call before it is served (a PUT not yet applied), "after"
serves it and holds its answer; the test is told when the call has arrived,
and the call goes on when released (or on its own after ``timeout``).
"""

from __future__ import annotations

import threading
import time
import typing as t

import pytest
import requests

from algolia_emulator import AdminError, EmulatorServer

SEGMENTS = {"segments": [{"id": "vip", "source": "test"}]}


def _put_in_background(server: EmulatorServer, user_id: str) -> dict[str, t.Any]:
    """PUT one user's segments on a thread; the dict gets its status once answered."""
    result: dict[str, t.Any] = {}

    def put() -> None:
        answer = requests.put(
            f"{server.url}/2/users/{user_id}/segments",
            json=SEGMENTS,
            headers=server.auth_headers,
            timeout=20,
        )
        result["status"] = answer.status_code

    thread = threading.Thread(target=put, daemon=True)
    thread.start()
    result["thread"] = thread
    return result


def _segments(server: EmulatorServer, user_id: str) -> list[dict[str, str]]:
    return (server.admin.get_user(user_id) or {}).get("segments") or []


@pytest.fixture
def server(emulator_factory: t.Callable[..., EmulatorServer]) -> EmulatorServer:
    server = emulator_factory(users=0)
    for user_id in ("u1", "u2"):
        server.admin.upsert_user({"userID": user_id, "lastUpdatedAt": "2026-10-01T00:00:00Z"})
    return server


def test_a_call_held_before_it_is_served_is_not_applied_until_released(
    server: EmulatorServer,
) -> None:
    hold = server.admin.hold_request(method="PUT", after=1, phase="before")
    first = _put_in_background(server, "u1")
    first["thread"].join(5)
    assert first["status"] == 200  # the first PUT is let through
    assert not server.admin.holds()[0]["arrived"]
    second = _put_in_background(server, "u2")
    assert server.admin.wait_for_hold(hold, timeout=5)
    time.sleep(0.2)
    assert "status" not in second
    assert _segments(server, "u2") == []
    server.admin.release_hold(hold)
    second["thread"].join(5)
    assert second["status"] == 200
    assert _segments(server, "u2") == SEGMENTS["segments"]


def test_a_call_held_after_it_is_served_is_applied_but_unanswered(
    server: EmulatorServer,
) -> None:
    hold = server.admin.hold_request(method="PUT", path_prefix="/2/users/u1", phase="after")
    put = _put_in_background(server, "u1")
    assert server.admin.wait_for_hold(hold, timeout=5)
    assert _segments(server, "u1") == SEGMENTS["segments"]
    assert "status" not in put
    server.admin.release_hold(hold)
    put["thread"].join(5)
    assert put["status"] == 200


def test_a_forgotten_hold_lets_its_call_go_after_its_timeout(server: EmulatorServer) -> None:
    hold = server.admin.hold_request(method="PUT", timeout=0.3)
    put = _put_in_background(server, "u1")
    put["thread"].join(5)
    assert put["status"] == 200
    assert server.admin.holds() == [
        {
            "id": hold,
            "method": "PUT",
            "path_prefix": None,
            "after": 0,
            "phase": "before",
            "timeout": 0.3,
            "arrived": True,
            "released": False,
            "timedOut": True,
        }
    ]


def test_waiting_for_a_call_that_never_comes_says_so(server: EmulatorServer) -> None:
    hold = server.admin.hold_request(method="DELETE")
    assert server.admin.wait_for_hold(hold, timeout=0.1) is False


def test_clearing_faults_releases_every_held_call(server: EmulatorServer) -> None:
    hold = server.admin.hold_request(method="PUT")
    put = _put_in_background(server, "u1")
    assert server.admin.wait_for_hold(hold, timeout=5)
    server.admin.clear_faults()
    put["thread"].join(5)
    assert put["status"] == 200
    assert server.admin.holds() == []


@pytest.mark.parametrize(
    "body", [{"phase": "during"}, {"after": -1}, {"timeout": 0}, {"timeout": 601}]
)
def test_a_hold_that_makes_no_sense_is_refused(server: EmulatorServer, body: dict) -> None:
    with pytest.raises(AdminError) as refused:
        server.admin._call("POST", "/holds", body)
    assert refused.value.status == 400
