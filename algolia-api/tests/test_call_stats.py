"""CallStats.busiest_minute: the most calls within any 60 s, a count, not a rate."""

from __future__ import annotations

from algolia_api import CallStats


def test_busiest_minute_counts_calls_in_the_fullest_60_seconds() -> None:
    now = [0.0]
    stats = CallStats(clock=lambda: now[0])
    # 10 calls in the first 2 s, then 1 call every 10 s for 3 minutes.
    for _ in range(10):
        stats.record(None)
        now[0] += 0.2
    for _ in range(18):
        now[0] += 10.0
        stats.record(None)
    assert stats.calls == 28
    # The first 60 s hold the 10 early calls and 5 of the slow ones (at 12, 22, ... 52 s).
    assert stats.busiest_minute == 15


def test_a_short_run_reports_its_calls_not_an_extrapolated_rate() -> None:
    now = [100.0]
    stats = CallStats(clock=lambda: now[0])
    for _ in range(40):
        stats.record(None)
        now[0] += 0.05  # 40 calls in 2 s: "1,200 a minute" extrapolated
    assert stats.busiest_minute == 40
