"""Every exchange below is validated by ContractClient against the published spec
(or, for the segments extension, the JSON Schema written from the contract)."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.validation.request.exceptions import ParameterValidationError

from algolia_emulator import SEARCH_ONLY_KEY, EmulatorServer


def test_list_users_pages_validate(client: Any) -> None:
    response = client.get("/2/users", params={"limit": 20})
    assert response.status_code == 200
    body = response.json()
    assert len(body["users"]) == 20
    assert "nextPageToken" in body
    assert "previousPageToken" not in body
    last = client.get("/2/users", params={"limit": 1000})
    assert last.status_code == 200
    assert len(last.json()["users"]) == 50
    assert "nextPageToken" not in last.json()


def test_list_users_with_every_filter_validates(client: Any) -> None:
    response = client.get(
        "/2/users",
        params={
            "limit": 5,
            "startDate": "2026-08-01T00:00:00Z",
            "endDate": "2026-12-01T00:00:00+01:00",
            "indices": "products,products_EN",
            "affinity": "brand,color:red",
        },
    )
    assert response.status_code == 200


def test_default_limit_is_ten(client: Any) -> None:
    assert len(client.get("/2/users").json()["users"]) == 10


def test_get_user_validates_and_carries_segments(client: Any, check_schema: Any) -> None:
    users = client.get("/2/users", params={"limit": 1000}).json()["users"]
    with_segments = [u for u in users if u.get("segments")]
    without_key = [u for u in users if "segments" not in u]
    assert with_segments
    assert without_key, "the seed must include profiles with no segments key"
    for user in with_segments[:5] + without_key[:2]:
        response = client.get("/2/users/" + _quote(user["userID"]))
        assert response.status_code == 200
        assert response.json() == user
        check_schema("userWithSegments", response.json())


def test_config_validates_against_published_schema(client: Any) -> None:
    response = client.get("/2/config")
    assert response.status_code == 200
    body = response.json()
    # The published schema requires the misspelled key; the correct one is there too.
    assert body["personalzationReRanking"] == body["personalizationReRanking"]


def test_delete_user_validates(client: Any) -> None:
    response = client.call("DELETE", "/2/users/user-000000")
    assert response.status_code == 200
    body = response.json()
    assert body["userID"] == "user-000000"
    assert client.get("/2/users/user-000000").status_code == 404
    again = client.call("DELETE", "/2/users/user-000000")
    assert again.status_code == 200  # no 404 is documented for this operation


@pytest.mark.parametrize(
    ("params", "spec_rejects_too"),
    [
        ({"limit": 0}, True),
        ({"limit": 1001}, True),
        ({"limit": "ten"}, True),
        ({"limit": "2.5"}, True),
        ({"startDate": "yesterday"}, False),
        ({"endDate": "2026-13-01T00:00:00Z"}, False),
        ({"startDate": "2026-09-01 10:00:00Z"}, False),
        ({"nextPageToken": "garbage!"}, False),
        ({"previousPageToken": "dXNlci0x"}, False),  # base64 of a bare ID, not our token
        ({"affinity": ":Nike"}, False),
    ],
)
def test_bad_list_parameters_are_422(
    client: Any,
    openapi: OpenAPI,
    spec_request: Any,
    params: dict[str, Any],
    spec_rejects_too: bool,
) -> None:
    response = client.get("/2/users", params=params)
    assert response.status_code == 422
    assert response.json() == {"message": "Unprocessable Entity", "status": 422}
    assert response.headers["x-emulator-error-detail"]
    if spec_rejects_too:
        with pytest.raises(ParameterValidationError):
            openapi.validate_request(spec_request(response.request))


def test_both_page_tokens_together_are_rejected(client: Any) -> None:
    first = client.get("/2/users", params={"limit": 5}).json()
    second = client.get("/2/users", params={"limit": 5, "nextPageToken": first["nextPageToken"]})
    tokens = second.json()
    response = client.get(
        "/2/users",
        params={
            "nextPageToken": tokens["nextPageToken"],
            "previousPageToken": tokens["previousPageToken"],
        },
    )
    assert response.status_code == 422


def test_errors_for_user_ids_validate(client: Any) -> None:
    invalid = client.get("/2/users/has%20space")
    assert invalid.status_code == 422
    assert invalid.json()["status"] == 422
    too_long = client.get("/2/users/" + "a" * 130)
    assert too_long.status_code == 422
    longest = client.get("/2/users/" + "a" * 129)
    assert longest.status_code == 404
    assert longest.json() == {"message": "Not Found", "status": 404}
    undecodable = client.get("/2/users/%FF")
    assert undecodable.status_code == 400
    assert undecodable.json() == {"message": "Invalid userID format", "status": 400}
    assert client.call("DELETE", "/2/users/bad%21").status_code == 422


def test_auth_errors_validate(client: Any, emulator: EmulatorServer) -> None:
    missing = client.get("/2/users", auth=False)
    assert missing.status_code == 401
    assert missing.json() == {"message": "Unauthorized", "status": 401}
    wrong_app = client.get("/2/config", headers={"x-algolia-application-id": "OTHERAPP"})
    assert wrong_app.status_code == 401
    wrong_key = client.get("/2/users/user-000001", headers={"x-algolia-api-key": "nope"})
    assert wrong_key.status_code == 401
    weak = client.get("/2/users", headers={"x-algolia-api-key": SEARCH_ONLY_KEY})
    assert weak.status_code == 403
    assert weak.json()["status"] == 403
    # Other endpoints demand the same three ACLs.
    weak_put = client.call(
        "PUT",
        "/2/users/user-000001/segments",
        json_body={"segments": []},
        headers={"x-algolia-api-key": SEARCH_ONLY_KEY},
    )
    assert weak_put.status_code == 403
    for response in (missing, wrong_app, wrong_key, weak):
        assert "x-ratelimit-limit" in response.headers


def test_unknown_routes_are_404(client: Any) -> None:
    for method, path in [
        ("GET", "/2/nothing"),
        ("POST", "/2/users"),
        ("GET", "/2/users/user-000001/segments"),
        ("GET", "/1/profiles/personalization/abc"),
        ("GET", "/2/users/team/user-000001"),
    ]:
        response = client.call(method, path)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"message": "Not Found", "status": 404}


def test_put_segments_validates_against_contract_schema(client: Any) -> None:
    body = {"segments": [{"id": "vip", "source": "crm"}, {"id": "vip", "source": "meltano"}]}
    response = client.call("PUT", "/2/users/user-000001/segments", json_body=body)
    assert response.status_code == 200
    assert response.json()["segments"] == body["segments"]
    assert client.exchanges >= 1


def _quote(user_id: str) -> str:
    from urllib.parse import quote

    return quote(user_id, safe="")
