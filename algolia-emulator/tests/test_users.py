"""Paging, filtering and user-ID handling of GET /2/users and /2/users/{userID}."""

from __future__ import annotations

from typing import Any

import pytest

from algolia_emulator import EmulatorServer


def _page_forward(client: Any, limit: int, **params: Any) -> tuple[list[str], int]:
    ids: list[str] = []
    token = None
    calls = 0
    while True:
        query = dict(params, limit=limit)
        if token:
            query["nextPageToken"] = token
        body = client.get("/2/users", params=query).json()
        calls += 1
        ids.extend(u["userID"] for u in body["users"])
        token = body.get("nextPageToken")
        if token is None:
            return ids, calls


def test_forward_paging_covers_every_user_once_in_order(client: Any) -> None:
    ids, calls = _page_forward(client, limit=7)
    assert len(ids) == 50
    assert len(set(ids)) == 50
    assert ids == sorted(ids)
    assert calls == 8  # 7 full pages and one of 1


def test_backward_paging_mirrors_forward(client: Any) -> None:
    pages: list[list[str]] = []
    token = None
    while True:
        query: dict[str, Any] = {"limit": 6}
        if token:
            query["nextPageToken"] = token
        body = client.get("/2/users", params=query).json()
        pages.append([u["userID"] for u in body["users"]])
        token = body.get("nextPageToken")
        if token is None:
            last_body = body
            break
    # Walk back from the last page with previousPageToken.
    back: list[list[str]] = [pages[-1]]
    body = last_body
    while "previousPageToken" in body:
        body = client.get(
            "/2/users", params={"limit": 6, "previousPageToken": body["previousPageToken"]}
        ).json()
        back.append([u["userID"] for u in body["users"]])
    assert back[::-1] == pages
    assert "previousPageToken" not in body  # the first page has none


def test_lexicographic_order_uses_code_points(
    emulator: EmulatorServer, client: Any, load_users: Any, user_factory: Any
) -> None:
    ids = ["a", "B", "_x", "0", "=", "/r", "-q", "+p", "Z9", "z", "user-10", "user-9"]
    load_users(emulator, [user_factory(i, "2026-09-01T00:00:00Z") for i in ids])
    listed = [u["userID"] for u in client.get("/2/users", params={"limit": 100}).json()["users"]]
    assert listed == ["+p", "-q", "/r", "0", "=", "B", "Z9", "_x", "a", "user-10", "user-9", "z"]


def test_paging_survives_deletion_of_the_boundary_user(client: Any) -> None:
    first = client.get("/2/users", params={"limit": 5}).json()
    boundary = first["users"][-1]["userID"]
    from urllib.parse import quote

    assert client.call("DELETE", "/2/users/" + quote(boundary, safe="")).status_code == 200
    rest, _ = _page_forward_from(client, first["nextPageToken"])
    seen = [u["userID"] for u in first["users"]] + rest
    assert len(seen) == 50
    assert len(set(seen)) == 50


def _page_forward_from(client: Any, token: str) -> tuple[list[str], int]:
    ids: list[str] = []
    calls = 0
    next_token: str | None = token
    while next_token:
        body = client.get("/2/users", params={"limit": 10, "nextPageToken": next_token}).json()
        calls += 1
        ids.extend(u["userID"] for u in body["users"])
        next_token = body.get("nextPageToken")
    return ids, calls


# Seven spellings around the instant 2026-09-01T10:00:00Z.
INSTANT_USERS = {
    "at-z": "2026-09-01T10:00:00Z",
    "at-plus2": "2026-09-01T12:00:00+02:00",
    "at-prev-day": "2026-08-31T23:00:00-11:00",  # sorts before the bound as a string
    "at-frac": "2026-09-01T10:00:00.000Z",
    "before-1us": "2026-09-01T09:59:59.999999Z",
    "after-1us": "2026-09-01T05:00:00.000001-05:00",
    "after-half": "2026-09-01T10:00:00.5Z",
    "after-quarter": "2026-09-01T15:30:00.250+05:30",
}
AT = {"at-z", "at-plus2", "at-prev-day", "at-frac"}
BEFORE = {"before-1us"}
AFTER = {"after-1us", "after-half", "after-quarter"}


@pytest.fixture
def instant_client(
    emulator: EmulatorServer, client: Any, load_users: Any, user_factory: Any
) -> Any:
    load_users(emulator, [user_factory(uid, ts) for uid, ts in INSTANT_USERS.items()])
    return client


def _ids(client: Any, **params: Any) -> set[str]:
    response = client.get("/2/users", params=dict(params, limit=1000))
    assert response.status_code == 200
    return {u["userID"] for u in response.json()["users"]}


@pytest.mark.parametrize("bound", ["2026-09-01T10:00:00Z", "2026-09-01T06:30:00.000-03:30"])
def test_inclusive_bounds_compare_instants(instant_client: Any, bound: str) -> None:
    assert _ids(instant_client, startDate=bound) == AT | AFTER
    assert _ids(instant_client, endDate=bound) == AT | BEFORE
    assert _ids(instant_client, startDate=bound, endDate=bound) == AT


def test_exclusive_bounds_compare_instants(emulator: EmulatorServer, instant_client: Any) -> None:
    emulator.admin.set_settings(bounds="exclusive")
    bound = "2026-09-01T10:00:00Z"
    assert _ids(instant_client, startDate=bound) == AFTER
    assert _ids(instant_client, endDate=bound) == BEFORE
    assert _ids(instant_client, startDate=bound, endDate=bound) == set()
    assert _ids(instant_client, startDate="2026-09-01T09:59:59.999999Z", endDate=bound) == set()
    assert _ids(
        instant_client, startDate="2026-09-01T09:59:59.9999Z", endDate="2026-09-01T10:00:00.2Z"
    ) == AT | {"before-1us", "after-1us"}


def test_filtered_paging_tokens(instant_client: Any) -> None:
    ids, calls = _page_forward(instant_client, limit=2, startDate="2026-09-01T10:00:00Z")
    assert set(ids) == AT | AFTER
    assert ids == sorted(ids)
    assert calls == 4  # seven matches, two per page, and no empty trailing page


def test_indices_and_affinity_filters(
    emulator: EmulatorServer,
    client: Any,
    load_users: Any,
    user_factory: Any,
    affinity_factory: Any,
) -> None:
    aff = affinity_factory
    stamp = "2026-09-01T00:00:00Z"
    load_users(
        emulator,
        [
            user_factory("u1", stamp, affinities=[aff("brand", "Nike", ["products_EN"])]),
            user_factory(
                "u2",
                stamp,
                affinities=[
                    aff("brand", "Nike", ["products_EN"]),
                    aff("color", "white", ["products_FR"]),
                ],
            ),
            user_factory(
                "u3", stamp, affinities=[aff("brand", "Adidas", ["products_EN", "products_FR"])]
            ),
            user_factory("u4", stamp),
        ],
    )
    assert _ids(client, indices="products_EN") == {"u1", "u2", "u3"}
    assert _ids(client, indices="products_EN,products_FR") == {"u2", "u3"}
    assert _ids(client, indices="missing") == set()
    assert _ids(client, affinity="brand") == {"u1", "u2", "u3"}
    assert _ids(client, affinity="brand:Nike") == {"u1", "u2"}
    assert _ids(client, affinity="brand:Nike,color:white") == {"u2"}
    assert _ids(client, affinity="brand:Nike,color") == {"u2"}
    assert _ids(client, affinity="brand:nike") == set()
    assert _ids(client, affinity="brand:Adidas", indices="products_FR") == {"u3"}


def test_user_ids_with_slashes_are_one_encoded_segment(
    emulator: EmulatorServer, client: Any, load_users: Any, user_factory: Any
) -> None:
    load_users(
        emulator,
        [
            user_factory("team/alice", "2026-09-01T00:00:00Z"),
            user_factory("a+b=c_d-e", "2026-09-01T00:00:00Z"),
        ],
    )
    response = client.get("/2/users/team%2Falice")
    assert response.status_code == 200
    assert response.json()["userID"] == "team/alice"
    assert client.get("/2/users/team/alice").status_code == 404  # another route
    plus = client.get("/2/users/a%2Bb%3Dc_d-e")
    assert plus.status_code == 200
    assert plus.json()["userID"] == "a+b=c_d-e"
    # '+' in a path is a literal plus, not a space.
    assert client.get("/2/users/a+b=c_d-e").json()["userID"] == "a+b=c_d-e"


def test_seeded_ids_with_special_characters_round_trip(client: Any) -> None:
    from urllib.parse import quote

    users = client.get("/2/users", params={"limit": 1000}).json()["users"]
    special = [u["userID"] for u in users if set(u["userID"]) & set("=+/_")]
    assert special, "the seed should exercise the non-alphanumeric characters"
    for user_id in special:
        response = client.get("/2/users/" + quote(user_id, safe=""))
        assert response.status_code == 200
        assert response.json()["userID"] == user_id
