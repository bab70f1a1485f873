"""Security: the API key never printed, user IDs confined to their path segment,
https only (outside loopback), TLS verification always on, region us or eu."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from singer_sdk.exceptions import ConfigValidationError

from algolia_api import AlgoliaClient, ConnectionSettings, build_session
from algolia_api.errors import AlgoliaAPIError
from algolia_api.settings import resolve_base_url
from algolia_api.user_ids import InvalidUserIDError, segments_path, user_path
from algolia_testkit import reliability as kit
from algolia_testkit import tap_runs
from algolia_testkit import target_runs as tk
from tap_algolia.tap import TapAlgolia
from target_algolia.target import TargetAlgolia

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


# The key never appears -------------------------------------------------------------
# (Every test of this folder is also checked by the autouse fixture in conftest.py.)

TAP_ENTRY_POINTS: dict[str, tuple[dict[str, t.Any], tuple[str, ...], bool]] = {
    # name: (config overrides, arguments, should succeed)
    "about-json": ({}, ("--about", "--format=json"), True),
    "about-markdown": ({}, ("--about", "--format=markdown"), True),
    "about-plain": ({}, ("--about",), True),
    "discover": ({}, ("--discover",), True),
    "test": ({}, ("--test",), True),
    "sync": ({}, (), True),
    "wrong-app-401": ({"app_id": "NOTMYAPP"}, (), False),
    "search-only-key-403": ({"api_key": kit.SECRET_SEARCH_ONLY}, (), False),
    "5xx-exhausted": ({"max_retries": 0, "_fault": 503}, (), False),
    "bad-region": ({"region": "asia", "api_url": None}, (), False),
    "plain-http-remote": ({"api_url": "http://example.com"}, (), False),
    "bad-start-date": ({"start_date": "yesterday"}, (), False),
    "unreachable": ({"api_url": "http://127.0.0.1:9", "max_retries": 0}, (), False),
}


@pytest.mark.parametrize("name", list(TAP_ENTRY_POINTS))
def test_tap_never_prints_the_key(
    name: str, make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    overrides, args, ok = TAP_ENTRY_POINTS[name]
    server = make_server(users=3)
    config = {**kit.tap_config(server), **overrides}
    if fault := config.pop("_fault", None):
        server.admin.inject_status(fault, 5)
    config = {k: v for k, v in config.items() if v is not None}
    run = kit.run_tap(config, tmp_path, *args)
    assert (run.returncode == 0) == ok, run.stderr[-2000:]
    for secret in (kit.SECRET, kit.SECRET_SEARCH_ONLY):
        assert secret not in run.stdout + run.stderr


TARGET_ENTRY_POINTS: dict[str, tuple[dict[str, t.Any], tuple[str, ...], bool]] = {
    "about-json": ({}, ("--about", "--format=json"), True),
    "about-markdown": ({}, ("--about", "--format=markdown"), True),
    "run": ({}, (), True),
    "dry-run": ({"dry_run": True}, (), True),
    "wrong-app-401": ({"app_id": "NOTMYAPP"}, (), False),
    "search-only-key-403": ({"api_key": kit.SECRET_SEARCH_ONLY}, (), False),
    "5xx-exhausted": ({"max_retries": 0, "_fault": 503}, (), False),
    "bad-region": ({"region": "asia", "api_url": None}, (), False),
    "plain-http-remote": ({"api_url": "http://example.com"}, (), False),
    "bad-segment-source": ({"segment_source": ""}, (), False),
}


@pytest.mark.parametrize("name", list(TARGET_ENTRY_POINTS))
def test_target_never_prints_the_key(name: str, emu: EmulatorServer, tmp_path: Path) -> None:
    overrides, args, ok = TARGET_ENTRY_POINTS[name]
    tk.put_user(emu, "u1", [])
    config = {**kit.target_config(emu, rejects_path=str(tmp_path / "rejects.jsonl")), **overrides}
    if fault := config.pop("_fault", None):
        emu.admin.inject_status(fault, 5)
    config = {k: v for k, v in config.items() if v is not None}
    messages = [tk.schema(), tk.event("u1", "a"), tk.event("bad id", "a"), tk.state(1)]
    run = kit.run_target(config, [] if args else messages, tmp_path, args=args)
    assert (run.returncode == 0) == ok, run.stderr[-2000:]
    for secret in (kit.SECRET, kit.SECRET_SEARCH_ONLY):
        assert secret not in run.stdout + run.stderr


def test_settings_errors_and_objects_do_not_show_the_key(emu: EmulatorServer) -> None:
    settings = ConnectionSettings.from_config(
        {"app_id": "NOTMYAPP", "api_key": kit.SECRET, "api_url": emu.url, "max_retries": 0}
    )
    client = AlgoliaClient(settings, agent="test")
    with pytest.raises(AlgoliaAPIError) as caught:
        client.check_credentials()
    texts = [repr(settings), str(settings), repr(client), repr(client.session), repr(client.stats)]
    texts += [str(caught.value), repr(caught.value), repr(caught.value.args)]
    with pytest.raises(ConfigValidationError) as bad:
        ConnectionSettings.from_config({"app_id": "A", "api_key": kit.SECRET, "region": "xx"})
    texts += [str(bad.value), repr(bad.value), repr(bad.value.errors)]
    tap = TapAlgolia(config={"app_id": "A", "api_key": kit.SECRET, "api_url": emu.url})
    texts += [repr(tap.connection), repr(tap), repr(tap.session)]
    target = TargetAlgolia(config={"app_id": "A", "api_key": kit.SECRET, "api_url": emu.url})
    texts += [repr(target.settings), repr(target)]
    leaks = [text for text in texts if kit.SECRET in text]
    assert not leaks, leaks
    client.close()


# User IDs stay in their path segment -------------------------------------------------------

HOSTILE_IDS = [
    "..",
    "../config",
    "a/../../2/config",
    "%2F",
    "a%2Fb",
    "%2e%2e",
    "u1?limit=1000",
    "u1#frag",
    "u 1",
    " u1",
    "ünïcode",
    "用户",
    "u1\r\nx-algolia-api-key: stolen",
    "u1\x00",
    "a\\b",
    "",
]


@pytest.mark.parametrize("user_id", HOSTILE_IDS, ids=repr)
def test_hostile_user_ids_are_refused_before_any_request(user_id: str) -> None:
    with pytest.raises(InvalidUserIDError):
        user_path(user_id)
    with pytest.raises(InvalidUserIDError):
        segments_path(user_id)


@pytest.mark.parametrize("user_id", ["team/alice", "/", "//", "a+b", "a=b", "-_-", "x" * 129])
def test_valid_ids_with_reserved_characters_are_one_encoded_segment(user_id: str) -> None:
    path = user_path(user_id)
    prefix, _, segment = path.rpartition("/")
    assert prefix == "/2/users"
    assert unquote(segment) == user_id
    assert not set(segment) & set("/?#. \\")


@given(st.text(max_size=140))
def test_any_text_is_refused_or_confined_to_one_segment(user_id: str) -> None:
    try:
        path = segments_path(user_id)
    except InvalidUserIDError:
        return
    parts = path.split("/")
    assert parts[:3] == ["", "2", "users"]
    assert parts[4:] == ["segments"]
    assert unquote(parts[3]) == user_id
    assert re.fullmatch(r"[A-Za-z0-9%_\-]+", parts[3])


def test_hostile_ids_in_target_input_never_reach_the_api(emu: EmulatorServer) -> None:
    tk.put_user(emu, "u1", [])
    messages = [tk.schema(), *[tk.event(uid, "vip") for uid in HOSTILE_IDS], tk.event("u1", "a")]
    # All but one record are rejected: max_rejected_fraction=1 keeps the run from failing.
    run = tk.run_in_process(kit.target_config(emu, max_rejected_fraction=1), messages)
    assert run.error is None
    assert run.target.run.stats.rejected == {"invalid_user_id": len(HOSTILE_IDS)}
    by_route = emu.admin.stats()["byRoute"]
    assert set(by_route) <= {
        "GET /2/users",
        "GET /2/users/{userID}",
        "PUT /2/users/{userID}/segments",
    }
    assert emu.admin.stats()["userPuts"] == {"u1": 1}


# https only, outside loopback ------------------------------------------------------------

REFUSED_URLS = [
    "http://example.com",
    "http://ai-personalization.us.algolia.com",
    "HTTP://example.com",
    "http://10.0.0.1:8765",
    "http://192.168.1.10",
    "http://[2001:db8::1]",
    "http://localhost.example.com",
    "http://127.0.0.1.nip.io",
    "http://2130706433",
    "http://0x7f000001",
    "http://127.0.0.1@example.com",
    "ftp://example.com",
    "example.com",
    "//example.com",
    "https://user:pass@example.com",
    "https://example.com/?x=1",
]
ACCEPTED_URLS = [
    "https://example.com",
    "https://example.com:8443/base/",
    "http://127.0.0.1:8765",
    "http://127.8.9.10",
    "http://localhost:1234",
    "http://[::1]:8765",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_plain_http_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="api_url"):
        resolve_base_url("us", url)


@pytest.mark.parametrize("url", ACCEPTED_URLS)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert resolve_base_url("us", url).startswith(url.split(":")[0])


@pytest.mark.parametrize("plugin", [TapAlgolia, TargetAlgolia])
def test_both_plugins_refuse_plain_http_before_any_request(plugin: type) -> None:
    with pytest.raises(ConfigValidationError, match="connection settings") as caught:
        plugin(config={"app_id": "A", "api_key": kit.SECRET, "api_url": "http://example.com"})
    assert any("https is required" in e for e in caught.value.errors)


# TLS verification is never off ---------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SOURCES = [
    Path(ROOT, "algolia-api", "algolia_api"),
    Path(ROOT, "tap-algolia", "tap_algolia"),
    Path(ROOT, "target-algolia", "target_algolia"),
]
INSECURE = re.compile(
    r"verify\s*=\s*(False|0|None)\b|CERT_NONE|check_hostname\s*=\s*False|"
    r"disable_warnings|InsecureRequestWarning|_create_unverified_context|PYTHONHTTPSVERIFY"
)


def test_no_plugin_code_turns_verification_off() -> None:
    offenders = [
        f"{path}:{n}: {line.strip()}"
        for root in PLUGIN_SOURCES
        for path in sorted(root.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if INSECURE.search(line)
    ]
    assert offenders == []


INSECURE_SETTINGS = {
    "verify": False,
    "verify_ssl": False,
    "ssl_verify": False,
    "tls_verify": False,
    "insecure": True,
    "requests_verify": False,
}


def _sent_verify_values(monkeypatch: pytest.MonkeyPatch) -> list[t.Any]:
    seen: list[t.Any] = []
    original = requests.adapters.HTTPAdapter.send

    def spy(self: t.Any, request: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        seen.append(kwargs.get("verify"))
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", spy)
    return seen


def test_every_tap_request_verifies_tls_whatever_the_config_or_env(
    make_server: t.Callable[..., EmulatorServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(users=7)
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    seen = _sent_verify_values(monkeypatch)
    tap = TapAlgolia(
        config={**kit.tap_config(server, page_size=2), **INSECURE_SETTINGS},
        message_writer=tap_runs.CollectingWriter(),
    )
    assert tap.session.verify is True
    tap.sync_all()
    tap.check_credentials()
    assert len(seen) >= 5
    assert all(value is True for value in seen), seen


def test_every_target_request_verifies_tls_whatever_the_config_or_env(
    emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tk.put_user(emu, "u1", [])
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    seen = _sent_verify_values(monkeypatch)
    config = {**kit.target_config(emu), **INSECURE_SETTINGS}
    run = tk.run_in_process(config, [tk.schema(), tk.event("u1", "a")])
    assert run.error is None
    assert tk.segments_of(emu, "u1") == [("a", "meltano")]
    assert len(seen) == 2  # GET, PUT
    assert all(value is True for value in seen), seen


def test_the_shared_session_starts_verified() -> None:
    settings = ConnectionSettings.from_config({"app_id": "A", "api_key": kit.SECRET})
    assert build_session(settings, agent="x").verify is True


# region is us or eu ----------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["us", "eu"])
def test_region_selects_the_regional_https_host(region: str) -> None:
    settings = ConnectionSettings.from_config({"app_id": "A", "api_key": "k", "region": region})
    assert settings.base_url == f"https://ai-personalization.{region}.algolia.com"


@pytest.mark.parametrize("plugin", [TapAlgolia, TargetAlgolia])
@pytest.mark.parametrize("region", ["US", "Eu", "asia", "de", " us", "us\n", "us.evil.com", "eu/x"])
def test_any_other_region_is_refused(plugin: type, region: str) -> None:
    with pytest.raises(ConfigValidationError):
        plugin(config={"app_id": "A", "api_key": kit.SECRET, "region": region})
    with pytest.raises(ValueError, match="region"):
        resolve_base_url(region, None)
