"""PUT /2/users/{userID}/segments as the segments contract defines it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from algolia_emulator import EmulatorServer
from algolia_emulator.admin_client import AdminError

PATH = "/2/users/user-000001/segments"


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_put_replaces_the_whole_list_and_stamps_the_profile(client: Any) -> None:
    first = client.call("PUT", PATH, json_body={"segments": [{"id": "a", "source": "crm"}]})
    assert first.status_code == 200
    second = client.call(
        "PUT",
        PATH,
        json_body={
            "segments": [{"id": "b", "source": "meltano"}, {"id": "a", "source": "meltano"}]
        },
    )
    assert second.status_code == 200
    body = second.json()
    assert body["userID"] == "user-000001"
    assert body["segments"] == [{"id": "b", "source": "meltano"}, {"id": "a", "source": "meltano"}]
    user = client.get("/2/users/user-000001").json()
    assert user["segments"] == body["segments"]
    assert user["lastUpdatedAt"] == body["updatedAt"]
    age = datetime.now(timezone.utc) - _parse(body["updatedAt"])
    assert abs(age.total_seconds()) < 5
    # The new stamp is visible to the date filter as well.
    listed = client.get("/2/users", params={"startDate": body["updatedAt"], "limit": 1000}).json()[
        "users"
    ]
    assert [u["userID"] for u in listed] == ["user-000001"]


def test_empty_list_clears_segments(client: Any) -> None:
    response = client.call("PUT", PATH, json_body={"segments": []})
    assert response.status_code == 200
    assert client.get("/2/users/user-000001").json()["segments"] == []


def test_same_id_from_two_sources_is_allowed(client: Any) -> None:
    pairs = [{"id": "vip", "source": "crm"}, {"id": "vip", "source": "meltano"}]
    assert client.call("PUT", PATH, json_body={"segments": pairs}).status_code == 200


def test_unknown_profile_is_404_and_never_created(client: Any) -> None:
    response = client.call(
        "PUT", "/2/users/nobody-here/segments", json_body={"segments": [{"id": "a", "source": "b"}]}
    )
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found", "status": 404}
    assert client.get("/2/users/nobody-here").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"segments": [{"id": "vip", "source": "crm"}, {"id": "vip", "source": "crm"}]},
        {"segments": [{"id": "", "source": "crm"}]},
        {"segments": [{"id": "vip", "source": ""}]},
        {"segments": [{"id": "x" * 257, "source": "crm"}]},
        {"segments": [{"id": "vip", "source": "s" * 257}]},
        {"segments": [{"id": "vip"}]},
        {"segments": [{"id": 7, "source": "crm"}]},
        {"segments": [{"id": "vip", "source": "crm", "name": "VIP"}]},
        {"segments": "vip"},
        {"segments": None},
        {"other": []},
        [],
    ],
)
def test_bad_bodies_are_400(client: Any, body: Any) -> None:
    before = client.get("/2/users/user-000001").json()
    response = client.call("PUT", PATH, json_body=body)
    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert client.get("/2/users/user-000001").json() == before  # nothing written


def test_malformed_json_is_400(client: Any) -> None:
    response = client.call(
        "PUT", PATH, data=b'{"segments": [', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_boundary_lengths_are_accepted(client: Any) -> None:
    pairs = [{"id": "x" * 256, "source": "s" * 256}, {"id": "y", "source": "z"}]
    response = client.call("PUT", PATH, json_body={"segments": pairs})
    assert response.status_code == 200
    assert response.json()["segments"] == pairs


def test_invalid_user_id_is_422_before_body_checks(client: Any) -> None:
    response = client.call("PUT", "/2/users/bad%20id/segments", json_body={"segments": "nope"})
    assert response.status_code == 422


def test_clock_offset_shifts_server_stamps(emulator_factory: Any, make_client: Any) -> None:
    server: EmulatorServer = emulator_factory(users=5, clock_offset=3600)
    client = make_client(server)
    user_id = client.get("/2/users").json()["users"][0]["userID"]
    from urllib.parse import quote

    body = client.call(
        "PUT", f"/2/users/{quote(user_id, safe='')}/segments", json_body={"segments": []}
    ).json()
    skew = _parse(body["updatedAt"]) - datetime.now(timezone.utc)
    assert 3590 < skew.total_seconds() < 3610


def test_without_the_segments_beta_profiles_lack_the_field_and_writes_are_404(
    emulator: EmulatorServer, client: Any
) -> None:
    emulator.admin.set_settings(segments_beta=False)
    users = client.get("/2/users", params={"limit": 1000}).json()["users"]
    assert len(users) == 50
    assert all("segments" not in user for user in users)
    one = client.get("/2/users/user-000001").json()
    assert "segments" not in one
    put = client.call("PUT", PATH, json_body={"segments": [{"id": "a", "source": "crm"}]})
    assert put.status_code == 404
    # The stored profiles keep their segments: switching the beta on serves them again.
    assert emulator.admin.set_settings(segments_beta=True)["segments_beta"] is True
    again = client.get("/2/users", params={"limit": 1000}).json()["users"]
    assert any("segments" in user for user in again)
    with pytest.raises(AdminError) as refused:
        emulator.admin.set_settings(segments_beta="no")  # type: ignore[arg-type]
    assert refused.value.status == 400
