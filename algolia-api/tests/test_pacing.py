"""The pacer spends what the server says is left, and no more."""

from __future__ import annotations

import time

import requests

from algolia_api import RateLimitPacer


def _answer(pacer: RateLimitPacer, ticket: int, limit: int, remaining: int, reset: float) -> None:
    response = requests.Response()
    response.status_code = 200
    response.headers.update(
        {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(reset),
        }
    )
    pacer.release(ticket, response)


def test_a_new_server_window_does_not_inherit_the_old_windows_sends() -> None:
    # x-ratelimit-reset is whole seconds, so the server's window often rolls
    # before the reset the client was told: the next answer then already comes
    # from a new window. Requests counted against the old window must not be
    # charged to the new one, or the pacer idles while the server has room.
    pacer = RateLimitPacer()
    now = time.time()
    for sent in range(1, 7):
        _answer(pacer, pacer.acquire(), 10, 10 - sent, now + 1.5)
    _answer(pacer, pacer.acquire(), 10, 9, now + 3)  # first answer of the new window
    started = time.monotonic()
    for sent in range(1, 10):
        _answer(pacer, pacer.acquire(), 10, 9 - sent, now + 3)
    assert pacer.stats.waits == 0
    assert time.monotonic() - started < 0.5


def test_the_new_window_is_still_not_overspent() -> None:
    pacer = RateLimitPacer()
    now = time.time()
    _answer(pacer, pacer.acquire(), 3, 2, now + 0.3)
    _answer(pacer, pacer.acquire(), 3, 1, now + 0.3)
    _answer(pacer, pacer.acquire(), 3, 0, now + 0.3)
    started = time.monotonic()
    pacer.acquire()  # held until the window resets
    assert time.monotonic() - started >= 0.2
    assert pacer.stats.waits == 1


def test_a_request_still_in_flight_from_before_the_reading_is_counted() -> None:
    # Answers arrive out of order over parallel connections: t1 was sent first
    # but the server saw t2 first, so t2's "remaining" does not include t1.
    pacer = RateLimitPacer()
    now = time.time()
    t1 = pacer.acquire()
    _answer(pacer, pacer.acquire(), 3, 2, now + 0.4)  # t2 of a window of 3
    pacer.acquire()  # t3: t1, t2 and t3 fill the window
    started = time.monotonic()
    pacer.acquire()  # t4 must wait for the reset
    assert pacer.stats.waits == 1
    assert time.monotonic() - started >= 0.2
    pacer.release(t1, None)
