"""AlgoliaClient.iter_user_pages: every profile once, in order; a garbled page is retried."""

from __future__ import annotations

import typing as t

import pytest
import requests_mock as rm

from algolia_api import AlgoliaClient, ConnectionSettings, ServerError

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


def client_for(url: str, **extra: t.Any) -> AlgoliaClient:
    settings = ConnectionSettings.from_config(
        {"app_id": "EMULATORAPP", "api_key": "emulator-api-key", "api_url": url, **extra}
    )
    return AlgoliaClient(settings, agent="test")


def test_pages_cover_every_profile_once_in_user_id_order(
    emulator_factory: t.Callable[..., EmulatorServer],
) -> None:
    emu = emulator_factory(users=2_345, rate_limit=100_000)
    client = client_for(emu.url)
    pages = list(client.iter_user_pages())
    assert [len(page) for page in pages] == [1000, 1000, 345]
    ids = [user["userID"] for page in pages for user in page]
    assert ids == sorted(emu.emulator.store.all_user_ids())
    assert client.stats.calls == 3


def test_a_cut_short_page_is_retried_then_read() -> None:
    url = "https://api.test"
    with rm.Mocker() as mock:
        mock.get(
            f"{url}/2/users",
            [
                {"status_code": 200, "text": '{"users": [{"userID": "a"'},
                {"status_code": 200, "json": {"users": [{"userID": "a"}]}},
            ],
        )
        client = client_for(url, max_retries=2)
        pages = list(client.iter_user_pages())
    assert pages == [[{"userID": "a"}]]
    assert client.retries == 1


def test_a_page_failing_after_its_retries_raises(
    emulator_factory: t.Callable[..., EmulatorServer],
) -> None:
    emu = emulator_factory(users=1_500, rate_limit=100_000)
    emu.admin.inject_status(500, 2, method="GET", path_prefix="/2/users", after=1)
    client = client_for(emu.url, max_retries=1)
    pages = client.iter_user_pages()
    assert len(next(pages)) == 1000
    with pytest.raises(ServerError):
        next(pages)
