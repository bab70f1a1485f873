"""The /_emulator/ control API, stats, persistence and seeding determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from algolia_emulator import AdminClient, AdminError, EmulatorServer
from algolia_emulator.seed import generate_users


def test_admin_calls_need_no_auth_and_are_not_counted(emulator: EmulatorServer) -> None:
    admin = AdminClient(emulator.url)
    assert admin.health() == {"status": "ok", "users": 50}
    emulator.admin.set_settings(rate_limit=1, rate_window=60)
    for _ in range(5):
        admin.stats()
    assert admin.stats()["total"] == 0


def test_stats_count_routes_statuses_and_users(emulator: EmulatorServer, client: Any) -> None:
    client.get("/2/users")
    client.get("/2/users/user-000001")
    client.get("/2/users/user-000001")
    client.get("/2/users/nobody")
    client.call("PUT", "/2/users/user-000001/segments", json_body={"segments": []})
    client.get("/2/nowhere")
    stats = emulator.admin.stats()
    assert stats["total"] == 6
    assert stats["byRoute"] == {
        "GET /2/users": 1,
        "GET /2/users/{userID}": 3,
        "PUT /2/users/{userID}/segments": 1,
        "GET (unmatched)": 1,
    }
    assert stats["byStatus"] == {"200": 4, "404": 2}
    assert stats["userGets"] == {"user-000001": 2, "nobody": 1}
    assert stats["userPuts"] == {"user-000001": 1}
    emulator.admin.reset_stats()
    assert emulator.admin.stats()["total"] == 0


def test_touch_and_upsert(emulator: EmulatorServer, client: Any) -> None:
    admin = emulator.admin
    verbatim = "2026-12-24T18:00:00.5+01:00"
    assert admin.touch("user-000002", verbatim)["lastUpdatedAt"] == verbatim
    assert client.get("/2/users/user-000002").json()["lastUpdatedAt"] == verbatim
    now_touched = admin.touch("user-000002")
    assert now_touched["lastUpdatedAt"].endswith("Z")
    assert now_touched["lastUpdatedAt"] > "2026-"
    with pytest.raises(AdminError) as bad:
        admin.touch("user-000002", "tomorrow")
    assert bad.value.status == 400
    with pytest.raises(AdminError) as missing:
        admin.touch("nobody")
    assert missing.value.status == 404

    admin.upsert_user({"userID": "new/one", "lastUpdatedAt": "2026-09-01T00:00:00Z"})
    stored = client.get("/2/users/new%2Fone").json()
    assert stored == {
        "userID": "new/one",
        "lastUpdatedAt": "2026-09-01T00:00:00Z",
        "type": "basic",
        "affinities": [],
    }
    for bad_user in (
        {"userID": "bad id", "lastUpdatedAt": "2026-09-01T00:00:00Z"},
        {"userID": "x"},
    ):
        with pytest.raises(AdminError):
            admin.upsert_user(bad_user)
    assert admin.get_user("nobody") is None
    assert admin.delete_user("new/one") is True
    assert admin.delete_user("new/one") is False
    assert admin.delete_all_users() == 50
    assert client.get("/2/users").json() == {"users": []}


def test_settings_round_trip_and_validation(emulator: EmulatorServer) -> None:
    admin = emulator.admin
    view = admin.set_settings(bounds="exclusive", rate_limit=9, rate_window=2.5, clock_offset=-3)
    assert view["bounds"] == "exclusive"
    assert view["rate_limit"] == 9
    assert view["rate_window"] == 2.5
    assert view["clock_offset"] == -3
    assert admin.settings() == view
    for bad in ({"bounds": "sideways"}, {"rate_limit": 0}, {"latency_ms": -1}):
        with pytest.raises(AdminError):
            admin.set_settings(**bad)


def test_reseed_and_reset(emulator: EmulatorServer, client: Any) -> None:
    admin = emulator.admin
    before = client.get("/2/users", params={"limit": 1000}).json()["users"]
    admin.reseed(users=12, seed=7)
    assert len(client.get("/2/users", params={"limit": 1000}).json()["users"]) == 12
    admin.inject_status(500, 3)
    admin.inject_body("null", path="/2/users/u1")
    admin.reset(users=50, seed=42)
    assert admin.faults() == {
        "statuses": [],
        "drops": [],
        "bodies": [],
        "scheduledTouches": [],
        "overlaps": [],
    }
    assert admin.stats()["total"] == 0
    assert client.get("/2/users", params={"limit": 1000}).json()["users"] == before


def test_state_survives_a_restart(tmp_path: Path, emulator_factory: Any, make_client: Any) -> None:
    state = tmp_path / "state" / "emulator.json"
    first: EmulatorServer = emulator_factory(users=30, seed=5, state_file=state)
    client = make_client(first)
    kept, gone = (quote(u["userID"], safe="") for u in client.get("/2/users").json()["users"][:2])
    body = {"segments": [{"id": "vip", "source": "meltano"}]}
    put = client.call("PUT", f"/2/users/{kept}/segments", json_body=body)
    assert put.status_code == 200
    assert client.call("DELETE", f"/2/users/{gone}").status_code == 200
    first.stop()
    saved = json.loads(state.read_text())
    assert len(saved["users"]) == 29
    assert not list(state.parent.glob("*.json.*")), "no temp file may be left behind"

    # Different seed arguments: the file wins and nothing is re-seeded.
    second: EmulatorServer = emulator_factory(users=3, seed=99, state_file=state)
    again = make_client(second)
    user = again.get(f"/2/users/{kept}").json()
    assert user["segments"] == body["segments"]
    assert user["lastUpdatedAt"] == put.json()["updatedAt"]
    assert again.get(f"/2/users/{gone}").status_code == 404
    assert len(again.get("/2/users", params={"limit": 1000}).json()["users"]) == 29


RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def test_seed_is_deterministic_and_varied() -> None:
    users = generate_users(400, 42)
    assert users == generate_users(400, 42)
    assert users != generate_users(400, 43)
    # A pinned fingerprint: a change to the generator must be deliberate.
    assert users[0]["userID"] == "user-000000"
    assert users[0]["lastUpdatedAt"] == "2026-08-26T07:15:53Z"
    ids = [u["userID"] for u in users]
    assert len(set(ids)) == 400
    for char in "=+/_":
        assert any(char in uid for uid in ids), char
    assert all(re.fullmatch(r"[A-Za-z0-9=+/_-]{1,129}", uid) for uid in ids)
    assert any(len(uid) == 129 for uid in ids)
    stamps = [u["lastUpdatedAt"] for u in users]
    assert all(RFC3339.match(s) for s in stamps)
    assert all("2026-07-31" <= s[:10] <= "2026-11-01" for s in stamps)
    assert any(s.endswith("Z") and "." not in s for s in stamps)
    assert any(re.search(r"\.\d{1}(Z|[+-])", s) for s in stamps)
    assert any(re.search(r"\.\d{3}(Z|[+-])", s) for s in stamps)
    assert any(re.search(r"\.\d{6}(Z|[+-])", s) for s in stamps)
    assert any(re.search(r"\.\d*0(Z|[+-])", s) for s in stamps)  # e.g. .250
    assert any(re.search(r"\+\d\d:\d\d$", s) for s in stamps)
    assert any(re.search(r"-\d\d:\d\d$", s) for s in stamps)
    assert any("segments" not in u for u in users)
    assert any(u.get("segments") == [] for u in users)
    assert {s["source"] for u in users for s in u.get("segments", [])} == {"crm", "cdp"}
    scores = [a["score"] for u in users for a in u["affinities"]]
    assert min(scores) >= 1
    assert max(scores) <= 20
    assert {a["name"] for u in users for a in u["affinities"]} == {"brand", "category", "color"}
    assert all(u["type"] == "basic" for u in users)


def test_seed_has_equal_instants_in_different_spellings() -> None:
    from datetime import datetime

    users = generate_users(400, 42)
    by_instant: dict[datetime, set[str]] = {}
    for user in users:
        instant = datetime.fromisoformat(user["lastUpdatedAt"].replace("Z", "+00:00"))
        by_instant.setdefault(instant, set()).add(user["lastUpdatedAt"])
    assert any(len(spellings) > 1 for spellings in by_instant.values())


def test_two_servers_with_one_seed_serve_identical_bytes(
    emulator_factory: Any, make_client: Any
) -> None:
    bodies = []
    for _ in range(2):
        server: EmulatorServer = emulator_factory(users=120, seed=3)
        bodies.append(make_client(server).get("/2/users", params={"limit": 1000}).content)
    assert bodies[0] == bodies[1]
