"""When and how long to retry a request: one policy for both plugins.

The wait generator follows the protocol of the ``backoff`` library that
singer-sdk uses: after each failure it is sent the exception and yields the
seconds to sleep. So the tap plugs it into the SDK's backoff hooks and the
target's client into ``backoff.on_exception``, and both behave the same.
What is retried is :data:`RETRIABLE_EXCEPTIONS`: transport failures, and the
error answers :func:`algolia_api.errors.is_retried_status` calls transient
(408, 429/421, 5xx), which :func:`algolia_api.errors.error_for_response` maps to
``AlgoliaRetriableError``.
"""

from __future__ import annotations

import random
import time
import typing as t

import requests

from algolia_api.errors import AlgoliaRetriableError, RateLimitError

RETRIABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    AlgoliaRetriableError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)

BASE_DELAY = 0.5
MAX_DELAY = 30.0
MAX_RATE_LIMIT_DELAY = 120.0


def retry_delay(
    error: BaseException | None,
    attempt: int,
    *,
    base: float = BASE_DELAY,
    cap: float = MAX_DELAY,
    now: t.Callable[[], float] = time.time,
    rng: t.Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``attempt + 1`` after ``error``.

    A rate-limit answer is honoured as the server asks: ``Retry-After`` first
    (seconds or an HTTP date, :func:`algolia_api.errors.retry_after_seconds`),
    else the window reset in ``x-ratelimit-reset``, never more than
    :data:`MAX_RATE_LIMIT_DELAY` (a header of ``NaN``, ``inf``, a negative or a
    huge value is ignored or capped); a little jitter is added so
    that parallel workers do not return in lockstep. Anything else backs off
    exponentially with "equal jitter": half the step is fixed, half random, so
    a retry never fires immediately.
    """
    if isinstance(error, RateLimitError):
        wait: float | None = None
        if error.retry_after is not None and error.retry_after >= 0:
            wait = error.retry_after
        elif error.reset_at is not None:
            wait = max(0.0, error.reset_at - now())
        if wait is not None:
            return min(wait, MAX_RATE_LIMIT_DELAY) + 0.25 * rng()
    # The exponent is capped: 2 ** 1100 is beyond float range, and the cap is reached long before.
    step = min(cap, base * (2 ** min(attempt, 64)))
    return step / 2 + (step / 2) * rng()


def wait_generator(
    base: float = BASE_DELAY, cap: float = MAX_DELAY
) -> t.Generator[float, BaseException | None, None]:
    """``backoff`` wait generator that is told each failure (use with ``jitter=None``)."""
    error = yield 0.0  # backoff primes the generator with send(None).
    attempt = 0
    while True:
        error = yield retry_delay(error, attempt, base=base, cap=cap)
        attempt += 1
