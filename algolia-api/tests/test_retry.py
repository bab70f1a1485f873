"""The retry policy: exponential backoff with jitter, and the server's own hints first."""

from __future__ import annotations

import requests

from algolia_api import RETRIABLE_EXCEPTIONS, RateLimitError, ServerError, retry_delay
from algolia_api.retry import MAX_DELAY, wait_generator


def _rate_limited(retry_after: float | None, reset_at: float | None) -> RateLimitError:
    error = RateLimitError(429, "Too Many Requests")
    error.retry_after = retry_after
    error.reset_at = reset_at
    return error


def test_backoff_grows_exponentially_within_equal_jitter_bounds() -> None:
    error = ServerError(503, "down")
    for attempt in range(6):
        step = min(MAX_DELAY, 0.5 * 2**attempt)
        low = retry_delay(error, attempt, rng=lambda: 0.0)
        high = retry_delay(error, attempt, rng=lambda: 0.999999)
        assert low == step / 2
        assert step / 2 < high <= step


def test_backoff_is_capped() -> None:
    assert retry_delay(ServerError(500, ""), 30, rng=lambda: 1.0) <= MAX_DELAY


def test_retry_after_is_honoured_over_backoff() -> None:
    delay = retry_delay(_rate_limited(7, None), 0, rng=lambda: 0.0)
    assert delay == 7.0


def test_reset_header_is_used_when_retry_after_is_absent() -> None:
    delay = retry_delay(
        _rate_limited(None, 1_000_010.0), 0, now=lambda: 1_000_000.0, rng=lambda: 0.0
    )
    assert delay == 10.0


def test_rate_limit_without_hints_falls_back_to_backoff() -> None:
    delay = retry_delay(_rate_limited(None, None), 3, rng=lambda: 0.0)
    assert delay == 0.5 * 2**3 / 2


def test_generator_speaks_the_backoff_protocol() -> None:
    gen = wait_generator(base=1.0, cap=100.0)
    gen.send(None)  # backoff primes it
    first = gen.send(ServerError(500, ""))
    second = gen.send(ServerError(500, ""))
    third = gen.send(_rate_limited(42, None))
    assert 0.5 <= first <= 1.0
    assert 1.0 <= second <= 2.0
    assert 42 <= third <= 42.25


def test_transport_failures_are_retriable() -> None:
    for exc in (
        requests.exceptions.ConnectTimeout,
        requests.exceptions.ReadTimeout,
        requests.exceptions.ConnectionError,
        requests.exceptions.ChunkedEncodingError,
    ):
        assert issubclass(exc, RETRIABLE_EXCEPTIONS)
