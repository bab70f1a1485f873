"""The pacer spends what the server says is left, and no more."""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from email.utils import formatdate

import pytest
import requests

from algolia_api import RateLimitPacer
from algolia_api.pacing import LONGEST_WAIT


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
    for sent in range(1, 10):
        _answer(pacer, pacer.acquire(), 10, 9 - sent, now + 3)
    assert pacer.stats.waits == 0


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
    _answer(pacer, pacer.acquire(), 4, 3, now + 0.4)  # t0 of a window of 4 (goes alone)
    t1 = pacer.acquire()
    _answer(pacer, pacer.acquire(), 4, 2, now + 0.4)  # t2: the server saw t0 and t2
    pacer.acquire()  # t3: t0, t1, t2 and t3 fill the window
    started = time.monotonic()
    pacer.acquire()  # t4 must wait for the reset
    assert pacer.stats.waits == 1
    assert time.monotonic() - started >= 0.2
    pacer.release(t1, None)


def test_the_first_request_goes_alone_and_its_answer_sets_the_pace() -> None:
    # Parallel workers must not start with a blind burst: the first answer says
    # how much of the window other clients already used (and a refused key is
    # refused once, not once per worker).
    pacer = RateLimitPacer()
    now = time.time()
    first = pacer.acquire()
    second: list[int] = []
    waiter = threading.Thread(target=lambda: second.append(pacer.acquire()))
    waiter.start()
    time.sleep(0.3)
    assert second == []  # held while the first request is on its way
    _answer(pacer, first, 10, 8, now + 30)
    waiter.join(timeout=5)
    assert len(second) == 1
    # From then on, requests overlap as the window allows.
    pacer.acquire()
    pacer.acquire()


# Clock skew and progress ------------------------------------------------------------


class FakeTime:
    """A local clock that moves only when the pacer waits (no real sleeping)."""

    def __init__(self, pacer_factory: t.Callable[..., RateLimitPacer]) -> None:
        self.now = 1_800_000_000.0
        self.waited = 0.0
        self.pacer = pacer_factory(clock=lambda: self.now)
        self.pacer._cond.wait = self._wait  # type: ignore[method-assign]

    def _wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.now += timeout
        self.waited += timeout
        return False


def _answer_at(
    pacer: RateLimitPacer,
    ticket: int,
    *,
    remaining: int,
    reset: float,
    date: float | None,
    limit: int = 3,
) -> None:
    response = requests.Response()
    response.status_code = 200
    response.headers["x-ratelimit-limit"] = str(limit)
    response.headers["x-ratelimit-remaining"] = str(remaining)
    response.headers["x-ratelimit-reset"] = str(int(reset))
    if date is not None:
        response.headers["Date"] = formatdate(date, usegmt=True)
    pacer.release(ticket, response)


def _fill_window(fake: FakeTime, *, skew: float, reset_in: float, date: bool = True) -> None:
    """Spend a window of 3 calls on a server whose clock is ``skew`` s ahead of ours."""
    for remaining in (2, 1, 0):
        server_now = fake.now + skew
        _answer_at(
            fake.pacer,
            fake.pacer.acquire(),
            remaining=remaining,
            reset=server_now + reset_in,
            date=server_now if date else None,
        )


@pytest.mark.parametrize("skew", [-600.0, -90.0, -1.5, 0.0, 0.7, 60.0, 600.0])
def test_the_reset_is_read_on_the_servers_clock(skew: float) -> None:
    # The server's window resets 30 s from now, whatever its clock says.
    fake = FakeTime(RateLimitPacer)
    _fill_window(fake, skew=skew, reset_in=30)
    fake.pacer.acquire()
    # Never early (Date and the reset are whole seconds, rounded so that
    # waiting longer is the only error), and at most a second or two late.
    assert 30 - 1 <= fake.waited <= 30 + 2


def test_a_reset_already_past_on_every_clock_lets_one_request_ask_the_server() -> None:
    # Answers say the window is full but its reset has passed, on any reading:
    # nothing in flight will ever report a new window, so waiting is a hang.
    fake = FakeTime(RateLimitPacer)
    _fill_window(fake, skew=0.0, reset_in=-5)
    fake.pacer.acquire()
    assert fake.waited == 0


def test_a_reset_further_than_a_window_is_not_believed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # No Date header and a reset 10 minutes ahead (a server clock far ahead
    # of ours that we cannot measure): wait one window plus a margin at most,
    # and say why.
    fake = FakeTime(RateLimitPacer)
    _fill_window(fake, skew=600.0, reset_in=30, date=False)
    with caplog.at_level(logging.INFO, logger="algolia_api.pacing"):
        fake.pacer.acquire()
    assert fake.waited <= LONGEST_WAIT <= 70
    waits = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
    assert len(waits) == 1
    assert "rate-limit window" in waits[0]


def test_a_long_wait_is_logged_with_its_reason_and_a_short_one_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTime(RateLimitPacer)
    with caplog.at_level(logging.INFO, logger="algolia_api.pacing"):
        _fill_window(fake, skew=0.0, reset_in=2)
        fake.pacer.acquire()
        assert caplog.records == []
        _fill_window(fake, skew=0.0, reset_in=20)
        fake.pacer.acquire()
    assert [r.getMessage() for r in caplog.records] == [
        "Pacing: the 3 calls of Algolia's rate-limit window are used up; "
        "waiting 20 s for the window to reset"
    ]
