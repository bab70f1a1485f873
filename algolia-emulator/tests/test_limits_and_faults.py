"""Rate limiting, injected faults, latency, dropped connections, scheduled touches."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from algolia_emulator import AdminError, EmulatorServer


def test_every_response_carries_rate_limit_headers(client: Any) -> None:
    first = client.get("/2/users")
    second = client.get("/2/users/does-not-exist")
    assert first.headers["x-ratelimit-limit"] == "500"
    assert int(first.headers["x-ratelimit-remaining"]) == 499
    assert int(second.headers["x-ratelimit-remaining"]) == 498
    reset = int(first.headers["x-ratelimit-reset"])
    assert time.time() < reset <= time.time() + 61


def test_429_past_the_limit_then_recovers(emulator_factory: Any, make_client: Any) -> None:
    # A sub-second window keeps the test quick; Retry-After still says 1
    # because the header is whole seconds and never less than one.
    server: EmulatorServer = emulator_factory(rate_limit=3, rate_window=0.4)
    client = make_client(server)
    # Failed authentication does not use up the quota.
    assert client.get("/2/users", headers={"x-algolia-api-key": "wrong"}).status_code == 401
    remaining = [client.get("/2/users").headers["x-ratelimit-remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    limited = client.get("/2/users/user-000001")
    assert limited.status_code == 429
    assert limited.json() == {"message": "Too Many Requests", "status": 429}
    retry_after = int(limited.headers["Retry-After"])
    assert retry_after == 1
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.headers["x-ratelimit-reset"]) >= int(time.time())
    # The limit spans all endpoints of the application.
    assert client.get("/2/config").status_code == 429
    time.sleep(0.45)
    recovered = client.get("/2/users")
    assert recovered.status_code == 200
    assert recovered.headers["x-ratelimit-remaining"] == "2"
    assert server.admin.stats()["rateLimited"] == 2


def test_rate_limit_can_be_changed_at_run_time(emulator: EmulatorServer, client: Any) -> None:
    emulator.admin.set_settings(rate_limit=1, rate_window=30)
    assert client.get("/2/users").status_code == 200
    limited = client.get("/2/users")
    assert limited.status_code == 429
    assert 29 <= int(limited.headers["Retry-After"]) <= 30


def test_clock_offset_shows_in_rate_limit_reset(emulator_factory: Any, make_client: Any) -> None:
    server: EmulatorServer = emulator_factory(users=3, clock_offset=-600, rate_window=60)
    reset = int(make_client(server).get("/2/users").headers["x-ratelimit-reset"])
    assert time.time() - 600 < reset <= time.time() - 600 + 61


@pytest.mark.parametrize("offset", [-600, 0, 600])
def test_clock_offset_shows_in_the_date_header(
    offset: int, emulator_factory: Any, make_client: Any
) -> None:
    # A skewed server's HTTP Date is on its own clock, like everything it stamps.
    server: EmulatorServer = emulator_factory(users=1, clock_offset=offset)
    before = time.time()
    answer = make_client(server).get("/2/users")
    after = time.time()
    served = parsedate_to_datetime(answer.headers["Date"]).timestamp()
    assert int(before) + offset <= served <= after + offset


def test_injected_status_for_next_matching_calls(emulator: EmulatorServer, client: Any) -> None:
    emulator.admin.inject_status(503, 2, method="GET", path_prefix="/2/users", retry_after=7)
    # Not matching the filter: served normally and not consuming the fault.
    assert client.get("/2/config").status_code == 200
    for _ in range(2):
        response = client.get("/2/users")
        assert response.status_code == 503
        assert response.json() == {"message": "Service Unavailable", "status": 503}
        assert response.headers["Retry-After"] == "7"
        assert "x-ratelimit-limit" in response.headers
    assert client.get("/2/users").status_code == 200
    assert emulator.admin.faults()["statuses"] == []


def test_injected_status_without_rate_limit_headers(emulator: EmulatorServer, client: Any) -> None:
    emulator.admin.inject_status(429, 1, rate_limit_headers=False, retry_after=2)
    response = client.get("/2/users")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert "x-ratelimit-limit" not in response.headers
    assert "x-ratelimit-reset" not in response.headers


def test_injected_500_matches_published_schema(emulator: EmulatorServer, client: Any) -> None:
    emulator.admin.inject_status(500, 1, method="PUT")
    assert client.get("/2/users").status_code == 200  # method filter
    response = client.call("PUT", "/2/users/user-000001/segments", json_body={"segments": []})
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error", "status": 500}
    assert client.get("/2/config").status_code == 200


def test_latency_is_added(emulator: EmulatorServer, client: Any) -> None:
    emulator.admin.set_latency(150)
    started = time.perf_counter()
    client.get("/2/users")
    assert time.perf_counter() - started >= 0.15
    emulator.admin.set_latency(0)
    started = time.perf_counter()
    client.get("/2/users")
    assert time.perf_counter() - started < 0.15


def test_dropped_connections_raise_then_recover(emulator: EmulatorServer) -> None:
    emulator.admin.drop_connections(2)
    session = requests.Session()
    session.headers.update(emulator.auth_headers)
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            session.get(emulator.url + "/2/users", timeout=5)
    assert session.get(emulator.url + "/2/users", timeout=5).status_code == 200
    assert emulator.admin.stats()["dropped"] == 2


def test_scheduled_touch_fires_after_the_kth_list_call(
    emulator: EmulatorServer, client: Any
) -> None:
    page1 = client.get("/2/users", params={"limit": 10}).json()
    early, late = page1["users"][0], None
    everyone = client.get("/2/users", params={"limit": 1000}).json()["users"]
    late = everyone[-1]  # on the last page of a limit-10 walk
    emulator.admin.schedule_touch(2, [early["userID"], late["userID"]])

    walk = []
    token = None
    for call in range(1, 6):
        params: dict[str, Any] = {"limit": 10}
        if token:
            params["nextPageToken"] = token
        body = client.get("/2/users", params=params).json()
        walk.extend(body["users"])
        token = body.get("nextPageToken")
        touched = emulator.admin.get_user(early["userID"])
        assert touched is not None
        if call < 2:
            assert touched["lastUpdatedAt"] == early["lastUpdatedAt"]
        else:
            assert touched["lastUpdatedAt"] != early["lastUpdatedAt"]
    by_id = {u["userID"]: u for u in walk}
    assert len(by_id) == 50
    # The first page was served before the touch, the last page after it.
    assert by_id[early["userID"]]["lastUpdatedAt"] == early["lastUpdatedAt"]
    assert by_id[late["userID"]]["lastUpdatedAt"] != late["lastUpdatedAt"]
    assert emulator.admin.faults()["scheduledTouches"] == []


def test_scheduled_delete_and_segment_edit_land_after_the_kth_page(
    emulator: EmulatorServer, client: Any
) -> None:
    ids = [u["userID"] for u in client.get("/2/users", params={"limit": 3}).json()["users"]]
    emulator.admin.schedule_touch(1, [ids[0]], action="delete")
    emulator.admin.schedule_touch(
        1, [ids[1]], action="segments", segments=[{"id": "late", "source": "crm"}]
    )
    page = client.get("/2/users", params={"limit": 3}).json()["users"]
    assert [u["userID"] for u in page] == ids  # built before the edits
    assert emulator.admin.get_user(ids[0]) is None
    edited = emulator.admin.get_user(ids[1])
    assert edited is not None
    assert edited["segments"] == [{"id": "late", "source": "crm"}]
    assert edited["lastUpdatedAt"] != page[1]["lastUpdatedAt"]


def test_scheduled_edit_refuses_an_unknown_action(emulator: EmulatorServer) -> None:
    with pytest.raises(AdminError) as raised:
        emulator.admin.schedule_touch(1, ["x"], action="explode")
    assert raised.value.status == 400
    with pytest.raises(AdminError):
        emulator.admin.schedule_touch(1, ["x"], action="segments")  # needs segments


def test_status_fault_after_lets_the_first_matching_calls_through(
    emulator: EmulatorServer, client: Any
) -> None:
    emulator.admin.inject_status(503, 1, method="GET", path_prefix="/2/users", after=2)
    statuses = [client.get("/2/users").status_code for _ in range(4)]
    assert statuses == [200, 200, 503, 200]


def test_bulk_load_replaces_or_adds_profiles(emulator: EmulatorServer) -> None:
    stamp = "2026-10-01T00:00:00Z"
    users = [{"userID": f"b{i}", "lastUpdatedAt": stamp} for i in range(3)]
    assert emulator.admin.load_users(users, replace=True) == 3
    assert emulator.admin.load_users([{"userID": "b9", "lastUpdatedAt": stamp}]) == 4
    assert emulator.admin.get_user("b9") is not None
    with pytest.raises(AdminError):
        emulator.admin.load_users([{"userID": "bad id!", "lastUpdatedAt": stamp}])


def _walk(client: Any, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    token = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if token:
            params["nextPageToken"] = token
        body = client.get("/2/users", params=params).json()
        pages.append([u["userID"] for u in body["users"]])
        token = body.get("nextPageToken")
        if not token:
            return pages


def test_overlapping_pages_repeat_the_last_profiles_of_a_page(
    emulator: EmulatorServer, client: Any
) -> None:
    plain = _walk(client, 10)
    emulator.admin.overlap_pages(2, profiles=3)
    overlapped = _walk(client, 10)
    assert overlapped[1][:3] == overlapped[0][-3:]
    assert overlapped[2][:3] == overlapped[1][-3:]
    assert overlapped[3][0] not in overlapped[2]  # the fault is used up: no more overlap
    # Same profiles in the same order, two pages' worth of them twice.
    listed = [uid for page in overlapped for uid in page]
    assert sorted(set(listed)) == [uid for page in plain for uid in page]
    assert len(listed) == 50 + 6
    assert emulator.admin.faults()["overlaps"] == []
    with pytest.raises(AdminError):
        emulator.admin.overlap_pages(1, profiles=0)
