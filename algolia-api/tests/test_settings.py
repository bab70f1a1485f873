"""Connection settings: regions, the https rule, and the key kept out of sight."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from algolia_api import CONNECTION_PROPERTIES, ConnectionSettings

BASE = {"app_id": "APP", "api_key": "sekrit-key-123"}


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us", "https://ai-personalization.us.algolia.com"),
        ("eu", "https://ai-personalization.eu.algolia.com"),
    ],
)
def test_region_selects_the_regional_host(region: str, host: str) -> None:
    assert ConnectionSettings.from_config({**BASE, "region": region}).base_url == host


def test_region_defaults_to_us() -> None:
    settings = ConnectionSettings.from_config(BASE)
    assert settings.region == "us"
    assert settings.base_url == "https://ai-personalization.us.algolia.com"


@pytest.mark.parametrize("region", ["ap", "US", "de", "", "useast"])
def test_other_regions_are_refused_with_a_clear_message(region: str) -> None:
    with pytest.raises(ConfigValidationError) as info:
        ConnectionSettings.from_config({**BASE, "region": region or "x"})
    assert any("'us' or 'eu'" in error for error in info.value.errors)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765",
        "http://localhost:8765/",
        "http://[::1]:9000",
        "http://127.5.5.5:80",
        "https://emulator.example.com",
    ],
)
def test_api_url_accepted_for_https_or_loopback(url: str) -> None:
    settings = ConnectionSettings.from_config({**BASE, "api_url": url})
    assert settings.base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://ai-personalization.us.algolia.com",
        "http://10.0.0.5:8765",
        "http://localhost.evil.com",
    ],
)
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigValidationError) as info:
        ConnectionSettings.from_config({**BASE, "api_url": url})
    assert any("https is required" in error for error in info.value.errors)


@pytest.mark.parametrize(
    "url", ["ftp://host", "not a url", "https://user:pw@host", "https://h/?q=1"]
)
def test_malformed_api_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigValidationError):
        ConnectionSettings.from_config({**BASE, "api_url": url})


def test_missing_credentials_are_named() -> None:
    with pytest.raises(ConfigValidationError) as info:
        ConnectionSettings.from_config({})
    joined = " ".join(info.value.errors)
    assert "app_id" in joined
    assert "api_key" in joined


def test_api_key_stays_out_of_repr_and_errors() -> None:
    settings = ConnectionSettings.from_config(BASE)
    assert "sekrit-key-123" not in repr(settings)
    with pytest.raises(ConfigValidationError) as info:
        ConnectionSettings.from_config({**BASE, "region": "mars"})
    assert "sekrit-key-123" not in str(info.value) + " ".join(info.value.errors)


def test_schema_marks_the_key_secret_and_limits_region() -> None:
    schema = CONNECTION_PROPERTIES.to_dict()["properties"]
    assert schema["api_key"].get("secret") is True
    assert schema["region"]["enum"] == ["us", "eu"]
    assert schema["region"]["default"] == "us"
