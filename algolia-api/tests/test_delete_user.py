"""AlgoliaClient.delete_user against the emulator: Algolia's answer, 404 as gone, refusals."""

from __future__ import annotations

import typing as t

import pytest

from algolia_api import AlgoliaClient, ConnectionSettings, ForbiddenError, InvalidUserIDError
from algolia_emulator import SEARCH_ONLY_KEY

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


def client_for(emu: EmulatorServer, key: str | None = None) -> AlgoliaClient:
    settings = ConnectionSettings.from_config(
        {"app_id": emu.app_id, "api_key": key or emu.api_key, "api_url": emu.url, "max_retries": 0}
    )
    return AlgoliaClient(settings, agent="test")


def test_delete_returns_algolias_answer_with_deleted_until(emulator: EmulatorServer) -> None:
    emulator.admin.upsert_user({"userID": "team/alice", "lastUpdatedAt": "2026-10-01T00:00:00Z"})
    answer = client_for(emulator).delete_user("team/alice")
    assert answer is not None
    assert answer["userID"] == "team/alice"
    assert answer["deletedUntil"]
    assert emulator.admin.get_user("team/alice") is None
    # Sent as one percent-encoded path segment.
    assert emulator.admin.stats()["byRoute"] == {"DELETE /2/users/{userID}": 1}


def test_a_404_is_none_not_an_error(emulator: EmulatorServer) -> None:
    emulator.admin.inject_status(404, method="DELETE")
    assert client_for(emulator).delete_user("gone") is None


def test_refusals_raise_and_invalid_ids_are_never_sent(emulator: EmulatorServer) -> None:
    with pytest.raises(ForbiddenError):
        client_for(emulator, SEARCH_ONLY_KEY).delete_user("user-000001")
    with pytest.raises(InvalidUserIDError):
        client_for(emulator).delete_user("not valid!")
    assert emulator.admin.get_user("user-000001") is not None
    assert emulator.admin.stats()["byRoute"] == {"DELETE /2/users/{userID}": 1}
