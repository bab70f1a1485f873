"""Pacing and concurrency as behaviour: never over the budget, no 429s, calls overlap.

How much of the budget a run uses, and how much concurrency saves, are speed
figures: bench/ measures them (docs/benchmarks.md). The bounds here hold on any
machine, however loaded: a slow machine only makes a run slower, never faster
than its budget or than one call at a time.
"""

from __future__ import annotations

import time
import typing as t

import pytest

from algolia_testkit.target_runs import (
    base_config,
    event,
    put_user,
    run_in_process,
    schema,
    segments_of,
)

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer

M = "meltano"


def _timed_run(emu: EmulatorServer, users: list[str], **config: t.Any) -> float:
    messages = [schema(), *[event(uid, "vip") for uid in users]]
    started = time.monotonic()
    run = run_in_process(base_config(emu, **config), messages)
    elapsed = time.monotonic() - started
    assert run.error is None, run.error
    return elapsed


@pytest.mark.slow
def test_run_stays_within_its_budget_without_429s(
    emulator_factory: t.Callable[..., EmulatorServer],
) -> None:
    # This run's budget is 20 calls a second, below what the application allows.
    # (The application limit is 50 per 1 s window rather than 25: the emulator
    # reports x-ratelimit-reset in whole seconds, as Algolia does, so a client
    # may see a 1 s window as up to 2 s long; with 60 s windows that is noise.)
    emu = emulator_factory(users=0, rate_limit=50, rate_window=1)
    users = [f"u{i:02d}" for i in range(40)]
    for uid in users:
        put_user(emu, uid, [])
    emu.admin.reset_stats()
    budget_per_minute = 1200
    elapsed = _timed_run(emu, users, max_requests_per_minute=budget_per_minute, concurrency=8)
    stats = emu.admin.stats()
    assert stats["rateLimited"] == 0
    assert stats["total"] == 2 * len(users)  # a GET and a PUT each, nothing else
    # The pacer spaces calls evenly over the minute: never faster than the budget.
    assert elapsed >= (stats["total"] - 1) * 60 / budget_per_minute * 0.95, elapsed
    assert all(segments_of(emu, uid) == [("vip", M)] for uid in users)


@pytest.mark.slow
def test_server_rate_limit_headers_pace_the_run_without_429s(
    emulator_factory: t.Callable[..., EmulatorServer],
) -> None:
    # Budget far above what the application allows: the x-ratelimit-* headers pace.
    emu = emulator_factory(users=0, rate_limit=20, rate_window=1)
    users = [f"u{i:02d}" for i in range(25)]
    for uid in users:
        put_user(emu, uid, [])
    emu.admin.reset_stats()
    elapsed = _timed_run(emu, users, max_requests_per_minute=100_000, concurrency=8)
    stats = emu.admin.stats()
    assert stats["rateLimited"] == 0
    print(f"server-limit use: {stats['total'] / elapsed / 20:.1%} of 20/s over {elapsed:.2f}s")
    assert all(segments_of(emu, uid) == [("vip", M)] for uid in users)


@pytest.mark.slow
def test_concurrent_workers_overlap_their_calls(
    emulator_factory: t.Callable[..., EmulatorServer],
) -> None:
    emu = emulator_factory(users=0, rate_limit=100_000, rate_window=60, latency_ms=50)
    serial_users = [f"s{i:03d}" for i in range(16)]
    users = [f"u{i:03d}" for i in range(200)]
    for uid in serial_users + users:
        put_user(emu, uid, [])
    serial = _timed_run(emu, serial_users, concurrency=1)
    # Each changed user costs a GET and a PUT at 50 ms each, one after the other.
    assert serial >= len(serial_users) * 2 * 0.05
    concurrent = _timed_run(emu, users, concurrency=16)
    print(f"200 users at 50 ms/call: {concurrent:.2f}s with 16 workers")
    # One call at a time cannot take less than the sum of the calls' latencies;
    # finishing under it proves the calls overlapped (typically about 10x under).
    assert concurrent < len(users) * 2 * 0.05
    assert all(segments_of(emu, uid) == [("vip", M)] for uid in users)
