"""Contract checking helpers for the emulator tests.

``ContractClient`` sends real HTTP requests to a running emulator and checks
each exchange: against the vendored OpenAPI file where the file describes the
operation and status, otherwise against the JSON Schema written from the
segments contract.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.responses.exceptions import ResponseNotFound

from algolia_emulator import EmulatorServer

SPEC_DIR = Path(__file__).resolve().parents[1] / "algolia_emulator" / "spec"
SPEC_FILE = SPEC_DIR / "algolia-advanced-personalization.openapi.yml"
SEGMENTS_SCHEMA_FILE = SPEC_DIR / "segments.schema.json"
# The spec only lists Algolia's hosts; requests are validated as if sent there.
SPEC_HOST = "https://ai-personalization.eu.algolia.com"


class _AsIfAlgolia(RequestsOpenAPIRequest):
    @property
    def host_url(self) -> str:
        return SPEC_HOST


def load_openapi() -> OpenAPI:
    # The file says openapi 3.0.2 but uses the 3.1-only info.summary, so the
    # strict spec check would reject Algolia's own file; validation of
    # requests and responses is unaffected.
    return OpenAPI.from_file_path(str(SPEC_FILE), config=Config(spec_validator_cls=None))


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    return load_openapi()


@pytest.fixture(scope="session")
def segments_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SEGMENTS_SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validate_def(schema: dict[str, Any], name: str, instance: Any) -> None:
    wrapper = {"$defs": schema["$defs"], "$ref": f"#/$defs/{name}"}
    jsonschema.Draft202012Validator(wrapper).validate(instance)


class ContractClient:
    """A requests session bound to one emulator that checks every exchange."""

    def __init__(
        self, server: EmulatorServer, openapi: OpenAPI, segments_schema: dict[str, Any]
    ) -> None:
        self.server = server
        self.openapi = openapi
        self.schema = segments_schema
        self.session = requests.Session()
        self.session.headers.update(server.auth_headers)
        self.exchanges = 0

    def close(self) -> None:
        self.session.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> requests.Response:
        request = requests.Request(
            method, self.server.url + path, params=params, json=json_body, data=data
        )
        prepared = self.session.prepare_request(request)
        if headers:
            prepared.headers.update(headers)
        if not auth:
            for name in ("x-algolia-application-id", "x-algolia-api-key"):
                prepared.headers.pop(name, None)
        response = self.session.send(prepared, timeout=10)
        self.check(prepared, response)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def check(self, prepared: requests.PreparedRequest, response: requests.Response) -> None:
        """Hold one exchange to the published contract."""
        self.exchanges += 1
        assert response.headers.get("Content-Type", "").startswith("application/json")
        body = response.json()
        path = prepared.path_url.split("?")[0]
        if path.endswith("/segments"):
            self._check_segments(prepared, response, body)
            return
        oa_request = _AsIfAlgolia(prepared)
        if 200 <= response.status_code < 300:
            # A request the emulator accepted must be one the spec accepts.
            self.openapi.validate_request(oa_request)
        try:
            self.openapi.validate_response(oa_request, RequestsOpenAPIResponse(response))
        except ResponseNotFound:
            # 403, 429 and 5xx are promised by the prose of both documents but not
            # listed per operation; unknown routes have no operation at all.
            assert response.status_code in (403, 404, 429) or response.status_code >= 500
            validate_def(self.schema, "error", body)
            assert body["status"] == response.status_code
        except PathError:
            # No operation in the spec for this method and path (the catch-all
            # /{path} matches one segment only), so the emulator must say 404.
            assert response.status_code == 404, response.status_code
            validate_def(self.schema, "error", body)
        if response.status_code >= 400:
            assert body["status"] == response.status_code

    def _check_segments(
        self, prepared: requests.PreparedRequest, response: requests.Response, body: Any
    ) -> None:
        if response.status_code == 200:
            sent = json.loads(prepared.body or b"null")
            validate_def(self.schema, "putSegmentsRequest", sent)
            validate_def(self.schema, "putSegmentsResponse", body)
        else:
            validate_def(self.schema, "error", body)
            assert body["status"] == response.status_code


@pytest.fixture
def client(
    emulator: EmulatorServer, openapi: OpenAPI, segments_schema: dict[str, Any]
) -> Iterator[ContractClient]:
    api = ContractClient(emulator, openapi, segments_schema)
    yield api
    api.close()


@pytest.fixture
def make_client(openapi: OpenAPI, segments_schema: dict[str, Any]) -> Iterator[Any]:
    made: list[ContractClient] = []

    def make(server: EmulatorServer) -> ContractClient:
        api = ContractClient(server, openapi, segments_schema)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


def make_user(user_id: str, last_updated_at: str, **extra: Any) -> dict[str, Any]:
    user: dict[str, Any] = {
        "userID": user_id,
        "type": "basic",
        "lastUpdatedAt": last_updated_at,
        "affinities": [],
    }
    user.update(extra)
    return user


def affinity(name: str, value: str, indices: list[str], score: int = 5) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "score": score,
        "indices": indices,
        "lastUpdatedAt": "2026-09-01T00:00:00Z",
    }


@pytest.fixture
def load_users() -> Any:
    """Replace an emulator's profiles with hand-written ones."""

    def load(server: EmulatorServer, users: list[dict[str, Any]]) -> None:
        server.admin.delete_all_users()
        for user in users:
            server.admin.upsert_user(user)

    return load


@pytest.fixture
def user_factory() -> Any:
    return make_user


@pytest.fixture
def affinity_factory() -> Any:
    return affinity


@pytest.fixture
def check_schema(segments_schema: dict[str, Any]) -> Any:
    """``check_schema(name, instance)`` validates against one $defs entry."""

    def check(name: str, instance: Any) -> None:
        validate_def(segments_schema, name, instance)

    return check


@pytest.fixture
def spec_request() -> Any:
    """Wrap a prepared request so openapi-core treats it as sent to Algolia."""
    return _AsIfAlgolia
