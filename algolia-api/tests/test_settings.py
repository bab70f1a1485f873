"""Connection settings: regions, the https rule, the key kept out of sight, and how a
number or boolean setting given as text is read."""

from __future__ import annotations

import re

import pytest
from singer_sdk.exceptions import ConfigValidationError

from algolia_api import CONNECTION_PROPERTIES, ConnectionSettings
from algolia_api.settings import env_setting_errors, read_typed_settings, setting_from_text

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


# Number and boolean settings given as text (as Meltano passes kind: string) --------

SCHEMA = {
    "properties": {
        "dry_run": {"type": ["boolean"]},
        "flattening_enabled": {"type": ["boolean", "null"]},
        "page_size": {"type": ["integer"]},
        "max_wait_seconds": {"type": ["number"]},
        "region": {"type": ["string"]},
    }
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[(word, True) for word in ("true", "TRUE", "True", "yes", "on", "1")],
        *[(word, False) for word in ("false", "False", "no", "OFF", "0")],
    ],
)
def test_a_boolean_is_read_from_its_words(text: str, value: bool) -> None:
    assert setting_from_text("dry_run", text, "boolean") is value


@pytest.mark.parametrize("text", ["nope", "", " true", "ture", "2", "y", "null", "None"])
def test_any_other_boolean_text_is_refused_naming_the_setting(text: str) -> None:
    # Meltano's kind: boolean and singer-sdk's --config ENV read these as false.
    with pytest.raises(ValueError, match=r"^dry_run must be true or false .*, not '"):
        setting_from_text("dry_run", text, "boolean")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("100", "integer", 100),
        ("-1", "integer", -1),
        ("+7", "integer", 7),
        ("0.9", "number", 0.9),
        ("1", "number", 1.0),
        ("1e-3", "number", 0.001),
        (".5", "number", 0.5),
        ("5.", "number", 5.0),
    ],
)
def test_numbers_are_read_from_digits(text: str, kind: str, value: float) -> None:
    read = setting_from_text("x", text, kind)
    assert read == value
    assert type(read) is (int if kind == "integer" else float)


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("1.5", "integer", "x must be a whole number such as 100, not '1.5'"),
        ("1e3", "integer", "x must be a whole number"),
        ("lots", "integer", "x must be a whole number"),
        ("1_000", "integer", "x must be a whole number"),
        ("", "integer", "x must be a whole number"),
        ("soon", "number", "x must be a number such as 0.5, not 'soon'"),
        ("nan", "number", "x must be a number"),
        ("inf", "number", "x must be a number"),
        ("1e999", "number", "x must be a number"),
        ("0x10", "number", "x must be a number"),
        ("1,5", "number", "x must be a number"),
    ],
)
def test_other_number_text_is_refused_naming_the_setting(
    text: str, kind: str, expected: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        setting_from_text("x", text, kind)


def test_read_typed_settings_reads_text_and_leaves_json_values_to_the_schema() -> None:
    config = {
        "dry_run": "yes",
        "flattening_enabled": False,
        "page_size": "50",
        "max_wait_seconds": 2,
        "region": "1",
        "unknown": "1",
    }
    read, errors = read_typed_settings(config, SCHEMA)
    assert errors == []
    assert read == {**config, "dry_run": True, "page_size": 50}


def test_read_typed_settings_names_every_bad_setting() -> None:
    _, errors = read_typed_settings({"dry_run": "nope", "page_size": "x", "region": "nope"}, SCHEMA)
    assert [error.split(" ", 1)[0] for error in errors] == ["dry_run", "page_size"]


def test_env_setting_errors_checks_the_variables_singer_sdk_would_read() -> None:
    environ = {"P_DRY_RUN": "nope", "P_PAGE_SIZE": "5", "P_MAX_WAIT_SECONDS": "soon", "P_X": "?"}
    errors = env_setting_errors(SCHEMA, "P_", environ)
    assert errors == [
        "dry_run must be true or false (also yes/no, on/off, 1/0), not 'nope'",
        "max_wait_seconds must be a number such as 0.5, not 'soon'",
    ]
