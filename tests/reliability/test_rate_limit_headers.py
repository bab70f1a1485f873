"""No rate-limit header can make the pacer spin or stall: odd
``x-ratelimit-reset``, ``-limit`` and ``-remaining`` values are ignored or
clamped, and ``Retry-After`` is honoured both as seconds and as an HTTP date.

The commands run against a server on 127.0.0.1 that sends those headers
(``algolia_testkit.hostile``), so the waits measured are the plugins' own.
"""

from __future__ import annotations

import json
import re
import time
import typing as t
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit.hostile import Answer, HostileServer, Script
from algolia_testkit.reliability import (
    EMPTY_PAGE,
    ONE_EVENT,
    PROFILE,
    hostile_tap_config,
    hostile_target_config,
)

ODD_RESETS = ["NaN", "nan", "inf", "-inf", "Infinity", "1e999", "garbage", "", "-5"]


@pytest.mark.parametrize("reset", ODD_RESETS)
def test_odd_rate_limit_headers_neither_spin_nor_stall_the_tap(reset: str, tmp_path: Path) -> None:
    """Window used up (remaining 0), with a reset that is not a usable number.

    Before: a reset of NaN made every request wait NaN seconds, that is spin
    at 100% CPU for ever. Now the headers are ignored (or, for a past reset,
    the window is over), and five pages are read at once.
    """
    pages = iter(range(1, 100))

    def script(*_: t.Any) -> Answer:
        page = next(pages)
        token = f"p{page}" if page < 5 else None
        body = json.dumps({"users": [], "nextPageToken": token}).encode()
        headers = {
            "x-ratelimit-limit": "1",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": reset,
        }
        return Answer(body=body, headers=headers)

    with HostileServer(script) as server:
        run = kit.run_tap(hostile_tap_config(server, max_retries=0), tmp_path, timeout=30)
        calls = len(server.seen)
    assert run.returncode == 0, run.stderr[-2000:]
    assert calls == 5
    assert run.ended - run.started < 15


@pytest.mark.parametrize(
    ("limit", "remaining"), [("0", "0"), ("-3", "-3"), ("nan", "1"), ("5", "-99"), ("5", "1e9")]
)
def test_odd_limit_and_remaining_values_neither_spin_nor_stall(
    limit: str, remaining: str, tmp_path: Path
) -> None:
    pages = iter(range(1, 100))

    def script(*_: t.Any) -> Answer:
        page = next(pages)
        body = json.dumps({"users": [], "nextPageToken": f"p{page}" if page < 4 else None})
        reset = str(int(time.time()) + 1)
        headers = {"x-ratelimit-limit": limit, "x-ratelimit-remaining": remaining}
        return Answer(body=body.encode(), headers={**headers, "x-ratelimit-reset": reset})

    with HostileServer(script) as server:
        run = kit.run_tap(hostile_tap_config(server, max_retries=0), tmp_path, timeout=30)
        calls = len(server.seen)
    assert run.returncode == 0, run.stderr[-2000:]
    assert calls == 4
    # A clamped "remaining 0" window waits for its reset, 1 s away, at most once per page.
    assert run.ended - run.started < 15


def _rate_limited_then_ok(retry_after: t.Callable[[], str], ok_body: bytes) -> Script:
    calls = {"n": 0}

    def script(*_: t.Any) -> Answer:
        calls["n"] += 1
        if calls["n"] == 1:
            now = datetime.now(timezone.utc).replace(microsecond=0)
            return Answer(
                status=429,
                body=b'{"message": "Too many requests"}',
                headers={"Retry-After": retry_after(), "Date": format_datetime(now, usegmt=True)},
            )
        return Answer(body=ok_body)

    return script


def _in_two_seconds() -> str:
    moment = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    return format_datetime(moment, usegmt=True)


@pytest.mark.parametrize(
    "retry_after", [_in_two_seconds, lambda: "2"], ids=["HTTP date", "delta seconds"]
)
@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_retry_after_is_honoured_in_both_http_forms(
    plugin: str, retry_after: t.Callable[[], str], tmp_path: Path
) -> None:
    """Before: an HTTP date was ignored, so the retry came 0.25 to 0.5 s later."""
    body = EMPTY_PAGE if plugin == "tap" else PROFILE
    with HostileServer(_rate_limited_then_ok(retry_after, body)) as server:
        if plugin == "tap":
            run = kit.run_tap(hostile_tap_config(server, max_retries=1), tmp_path)
        else:
            # dry_run: the read is what is retried; no PUT to answer.
            config = hostile_target_config(server, max_retries=1, dry_run=True)
            run = kit.run_target(config, ONE_EVENT, tmp_path)
        seen = list(server.seen)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(seen) >= 2
    gap = seen[1].at - seen[0].at
    # A date is whole seconds: "3 s after Date" is 2 to 3 s after the answer left.
    assert gap >= 1.9, gap
    assert gap < 4.5, gap
    assert re.search(r"Retrying \S+ in [23]\.\d+s", run.stderr), run.stderr[-2000:]
