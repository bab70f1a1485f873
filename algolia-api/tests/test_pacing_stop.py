"""RateLimitPacer.stop: waiting and later requests are refused, none is let through."""

from __future__ import annotations

import threading

import pytest

from algolia_api import PacingStopped, RateLimitPacer


def test_stop_wakes_a_request_waiting_for_room_and_refuses_later_ones() -> None:
    now = [1000.0]
    # One request a minute and a clock that never moves: the second waits forever.
    pacer = RateLimitPacer(max_requests_per_minute=1, clock=lambda: now[0])
    pacer.release(pacer.acquire(), None)
    outcome: list[BaseException | int] = []

    def second() -> None:
        try:
            outcome.append(pacer.acquire())
        except PacingStopped as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=second)
    waiter.start()
    waiter.join(timeout=0.3)
    assert waiter.is_alive()  # held back by the pacer
    pacer.stop()
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], PacingStopped)
    assert pacer.stopped
    with pytest.raises(PacingStopped):
        pacer.acquire()
