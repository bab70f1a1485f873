"""Unit cases of issue 20's transport rules: Retry-After in both forms, bounded
waits, one-line excerpts, key masking and the loopback check of ``*.localhost``."""

from __future__ import annotations

import logging
import math
import socket
import typing as t
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from algolia_api import redaction
from algolia_api.errors import RateLimitError, error_for_response, retry_after_seconds
from algolia_api.pacing import LONGEST_WAIT, RateLimitPacer
from algolia_api.redaction import MASK, one_line, redact, register_secret
from algolia_api.retry import MAX_RATE_LIMIT_DELAY, retry_delay
from algolia_api.settings import resolve_base_url

SERVER_NOW = datetime(2026, 11, 2, 10, 0, 0, tzinfo=timezone.utc)


def _response(status: int, headers: dict[str, str], body: bytes = b"") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response._content = body
    request = requests.Request("GET", "https://h/2/users/u1", headers={"x-algolia-api-key": "k"})
    response.request = request.prepare()
    return response


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


# Retry-After -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        (_http_date(SERVER_NOW + timedelta(seconds=42)), 42.0),
        (_http_date(SERVER_NOW - timedelta(seconds=42)), 0.0),
        ("Mon, 02 Nov 2026 10:00:09 -0000", 9.0),
        ("Mon, 02 Nov 2026 11:00:09 +0100", 9.0),
    ],
)
def test_retry_after_is_read_in_both_forms_against_the_servers_date(
    value: str, seconds: float
) -> None:
    response = _response(429, {"Retry-After": value, "Date": _http_date(SERVER_NOW)})
    assert retry_after_seconds(response) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "inf",
        "-inf",
        "1e999",
        "soon",
        "",
        "Mon, 99 Foo 2026",
    ],
)
def test_an_unusable_retry_after_is_no_delay_of_its_own(value: str) -> None:
    response = _response(429, {"Retry-After": value, "Date": _http_date(SERVER_NOW)})
    assert retry_after_seconds(response) is None


@given(
    st.one_of(
        st.text(max_size=40),
        st.floats().map(repr),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.datetimes(
            min_value=datetime(1, 1, 2),
            max_value=datetime(9999, 12, 30),
            timezones=st.just(timezone.utc),
        ).map(_http_date),
    )
)
def test_any_rate_limit_header_gives_a_finite_bounded_delay(value: str) -> None:
    headers = {"Retry-After": value, "x-ratelimit-reset": value, "Date": _http_date(SERVER_NOW)}
    error = error_for_response(_response(429, headers))
    assert isinstance(error, RateLimitError)
    delay = retry_delay(error, 3, now=lambda: SERVER_NOW.timestamp(), rng=lambda: 1.0)
    assert math.isfinite(delay)
    assert 0 <= delay <= max(MAX_RATE_LIMIT_DELAY, 30.0) + 0.25


def test_a_retry_after_far_in_the_future_is_capped() -> None:
    headers = {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT", "Date": _http_date(SERVER_NOW)}
    error = error_for_response(_response(429, headers))
    assert retry_delay(error, 0, rng=lambda: 0.0) == MAX_RATE_LIMIT_DELAY


def test_the_backoff_of_a_very_late_attempt_is_the_cap_not_an_overflow() -> None:
    assert retry_delay(None, 5000, rng=lambda: 1.0) == 30.0


# The pacer ---------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("limit", "remaining", "reset"),
    [
        ("1", "0", "nan"),
        ("1", "0", "inf"),
        ("1", "0", "-inf"),
        ("0", "0", "+60"),
        ("-5", "0", "+60"),
        ("1", "-7", "nan"),
    ],
)
def test_a_window_report_that_is_no_usable_number_never_holds_a_request(
    limit: str, remaining: str, reset: str
) -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock)
    value = str(clock.now + 60) if reset == "+60" else reset
    headers = {"x-ratelimit-limit": limit, "x-ratelimit-remaining": remaining}
    response = _response(200, {**headers, "x-ratelimit-reset": value})
    pacer.release(pacer.acquire(), response)
    started = clock.now
    pacer.release(pacer.acquire(), None)  # returns at once: no wait on a NaN or a limit < 1
    assert clock.now == started
    assert pacer.stats.waits == 0


def test_a_negative_remaining_is_a_full_window_bounded_by_its_reset(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Clamped to 0: the next request waits for the reset (logged), never longer than a window."""
    clock = FakeClock()
    logger = logging.getLogger("test-pacer")
    pacer = RateLimitPacer(clock=clock, logger=logger)
    headers = {"x-ratelimit-limit": "3", "x-ratelimit-remaining": "-50"}
    pacer.release(pacer.acquire(), _response(200, {**headers, "x-ratelimit-reset": "1e300"}))
    waits: list[float] = []

    def fake_wait(timeout: float) -> bool:
        waits.append(timeout)
        clock.now += timeout
        return False

    pacer._cond.wait = fake_wait  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="test-pacer"):
        pacer.release(pacer.acquire(), None)
    assert LONGEST_WAIT - 1 <= sum(waits) <= LONGEST_WAIT + 0.01
    assert all(0 < wait <= 1.0 for wait in waits)
    assert "used up" in caplog.text


# One line, no key --------------------------------------------------------------------------


@given(st.text())
def test_an_excerpt_is_always_one_bounded_line(text: str) -> None:
    line = one_line(text, 200)
    assert len(line) <= 200
    assert line == line.strip()
    assert len(line.splitlines()) <= 1


def test_one_line_blanks_every_kind_of_line_break() -> None:
    text = "a\nb\rc\r\nd\x0be\x0cf\x1cg\x85h\u2028i\u2029j\x00k\x1b[31ml"
    assert one_line(text) == "a b c d e f g h i j k [31ml"


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> t.Callable[[t.Any], None]:
    """register_secret, on a registry that is emptied again after the test."""
    monkeypatch.setattr(redaction, "_secrets", set())
    monkeypatch.setattr(redaction, "_pattern", None)
    return register_secret


def test_a_long_key_is_masked_everywhere_and_a_short_one_as_a_word(
    registered: t.Callable[[t.Any], None],
) -> None:
    registered("k3y-long-7")
    registered("ab")
    text = "x=k3y-long-7 yk3y-long-7z ab 'ab' about tab ab."
    assert redact(text) == f"x={MASK} y{MASK}z {MASK} '{MASK}' about tab {MASK}."


def test_a_key_of_another_type_is_masked_in_its_printed_forms(
    registered: t.Callable[[t.Any], None],
) -> None:
    registered(["rk-list-1"])
    assert redact("got ['rk-list-1'] and rk-list-1") == f"got {MASK} and {MASK}"


def test_the_log_filter_masks_messages_arguments_and_tracebacks(
    registered: t.Callable[[t.Any], None],
) -> None:
    registered("rk-filter-9")
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key %s", ("rk-filter-9",), None)
    try:
        raise ValueError("header 'rk-filter-9'")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    redaction.RedactingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "rk-filter-9" not in formatted
    assert formatted.startswith(f"key {MASK}\nTraceback")
    assert f"ValueError: header '{MASK}'" in formatted


def test_a_server_echo_of_the_key_is_masked_in_the_error_line(
    registered: t.Callable[[t.Any], None],
) -> None:
    # On an empty registry: a short key an earlier test in this process
    # registered ("key", say) would mask that word here too, as it should.
    response = _response(403, {}, b'{"message": "key k is\\nnot valid: k"}')
    response.request.headers["x-algolia-api-key"] = "rk-echo-8"
    response._content = b'{"message": "key rk-echo-8 is\\nnot valid"}'
    error = error_for_response(response)
    assert "rk-echo-8" not in str(error)
    assert f"key {MASK} is not valid" in str(error)


# *.localhost ------------------------------------------------------------------------------------


def _resolver(addresses: list[str] | None) -> t.Callable[..., t.Any]:
    def getaddrinfo(host: str, *args: t.Any, **kwargs: t.Any) -> list[t.Any]:
        if addresses is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in addresses]

    return getaddrinfo


@pytest.mark.parametrize(
    ("addresses", "accepted"),
    [
        (["127.0.0.1"], True),
        (["127.0.0.1", "::1"], True),
        (["127.8.9.10"], True),
        (["10.0.0.7"], False),
        (["127.0.0.1", "203.0.113.9"], False),  # one address off loopback is enough
        ([], False),
        (None, False),  # does not resolve
    ],
)
@pytest.mark.parametrize("host", ["emulator.localhost", "localhost", "LOCALHOST."])
def test_a_localhost_name_is_loopback_only_if_it_resolves_only_to_loopback(
    host: str, addresses: list[str] | None, accepted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(addresses))
    url = f"http://{host}:8765"
    if accepted:
        assert resolve_base_url("us", url) == url
    else:
        with pytest.raises(ValueError, match="resolves only to loopback"):
            resolve_base_url("us", url)


def test_a_loopback_ip_literal_needs_no_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(None))
    assert resolve_base_url("us", "http://127.0.0.1:1") == "http://127.0.0.1:1"
    assert resolve_base_url("us", "http://[::1]:1") == "http://[::1]:1"
