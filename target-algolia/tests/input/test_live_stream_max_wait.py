"""A live stream through the CLI: every event reaches the emulator within max_wait_seconds.

A feeder process (algolia_testkit.stream_feeder) writes audience events at random
intervals, with quiet gaps longer than the bound and STATE messages in
between, into the target's stdin; the emulator stamps each profile's
``lastUpdatedAt`` when it receives the ``PUT``. Each event is for its own user,
so that stamp is the time its write arrived, and the emulator's per-user
counters show how often each was written. Latencies are measured on one clock
(``time.time()`` in the feeder, the emulator's UTC stamps, the test reading
STATE lines as the target prints them).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import typing as t
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from algolia_testkit.stream_feeder import SEGMENT, plan, user_of
from algolia_testkit.target_runs import base_config, put_user, segments_of, spawn_cli
from target_algolia.input.max_wait import DEFAULT_MAX_WAIT_SECONDS

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer

M = "meltano"
FEEDER = "algolia_testkit.stream_feeder"  # run with python -m
BOUND = DEFAULT_MAX_WAIT_SECONDS


@dataclass
class StreamRun:
    returncode: int
    written_at: dict[int, float]  # event -> when the feeder wrote it
    states: list[tuple[float, int]]  # (when the test read it, bookmark), in order
    stderr: list[str] = field(default_factory=list)


def run_stream(
    emu: EmulatorServer,
    config: dict[str, t.Any],
    steps: list[dict[str, t.Any]],
    tmp_path: Path,
) -> StreamRun:
    """Feeder | target-algolia, both real processes; returns once both have exited."""
    for step in steps:
        n = step["event"]
        # Entering users start without the segment, exiting users with it.
        put_user(emu, user_of(n), [(SEGMENT, M)] if n % 2 else [("vip", "crm")])
    plan_path, log_path = tmp_path / "plan.json", tmp_path / "log.jsonl"
    plan_path.write_text(json.dumps(steps))
    emu.admin.reset_stats()
    timeout = sum(step["delay"] for step in steps) + 120

    feeder = subprocess.Popen(
        [sys.executable, "-m", FEEDER, str(plan_path), str(log_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert feeder.stdin is not None
    assert feeder.stdout is not None
    target = spawn_cli(config, tmp_path, stdin=feeder.stdout)
    feeder.stdout.close()  # the target holds the read end now
    states: list[tuple[float, int]] = []
    stderr: list[str] = []
    started = threading.Event()

    def read_stdout() -> None:
        assert target.stdout is not None
        for line in target.stdout:
            states.append((time.time(), json.loads(line)["bookmark"]))

    def read_stderr() -> None:
        assert target.stderr is not None
        for line in target.stderr:
            stderr.append(line)
            if "Meltano SDK" in line:
                started.set()
        started.set()

    readers = [threading.Thread(target=f, daemon=True) for f in (read_stdout, read_stderr)]
    for reader in readers:
        reader.start()
    try:
        # The stream starts once the target is up: its start-up is not latency.
        assert started.wait(60), "target did not start"
        feeder.stdin.write("go\n")
        feeder.stdin.close()
        assert feeder.wait(timeout) == 0
        returncode = target.wait(timeout)
    finally:
        for proc in (feeder, target):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for reader in readers:
        reader.join(10)
    written_at = {
        entry["n"]: entry["at"] for entry in map(json.loads, log_path.read_text().splitlines())
    }
    return StreamRun(returncode, written_at, states, stderr)


def put_received_at(emu: EmulatorServer, n: int) -> float:
    """When the emulator received the PUT of event n (it stamps lastUpdatedAt then)."""
    user = emu.admin.get_user(user_of(n))
    assert user is not None
    stamp = user["lastUpdatedAt"].replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def check_every_event_applied_once(emu: EmulatorServer, steps: list[dict[str, t.Any]]) -> None:
    puts = emu.admin.stats()["userPuts"]
    for step in steps:
        n = step["event"]
        expected = [("vip", "crm"), (SEGMENT, M)] if n % 2 == 0 else []
        assert segments_of(emu, user_of(n)) == expected, n
        # Nothing written twice for one event.
        assert puts.get(user_of(n)) == 1, (n, puts.get(user_of(n)))


def check_states_follow_their_writes(
    emu: EmulatorServer, run: StreamRun, steps: list[dict[str, t.Any]]
) -> None:
    bookmarks = [bookmark for _, bookmark in run.states]
    assert bookmarks == sorted(set(bookmarks)), bookmarks
    assert bookmarks[-1] == steps[-1]["event"]
    for seen_at, bookmark in run.states:
        for n in range(bookmark + 1):
            assert put_received_at(emu, n) < seen_at, (bookmark, n)


@pytest.mark.slow
def test_live_stream_reaches_algolia_within_the_bound(
    emulator_factory: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    # Algolia's own limit and the target's defaults: the events use about a
    # quarter of the request budget (2 calls per event).
    emu = emulator_factory(users=0, rate_limit=500, rate_window=60)
    steps = plan(
        seed=15,
        duration=32,
        interval=(0.05, 1.2),
        quiet_every=(4, 10),
        quiet=(2.5 * BOUND, 4 * BOUND),
    )
    config = base_config(emu, summary_interval_seconds=0)
    for name in ("max_requests_per_minute", "concurrency", "max_wait_seconds"):
        config.pop(name, None)  # the defaults
    run = run_stream(emu, config, steps, tmp_path)
    assert run.returncode == 0, "".join(run.stderr[-20:])

    check_every_event_applied_once(emu, steps)
    check_states_follow_their_writes(emu, run, steps)
    latencies = [put_received_at(emu, n) - at for n, at in run.written_at.items()]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(
        f"\nstreaming: {len(latencies)} events over {sum(s['delay'] for s in steps):.0f} s, "
        f"feeder write -> PUT received: p50 {p50:.2f} s, p99 {p99:.2f} s, "
        f"max {max(latencies):.2f} s (bound {BOUND} s)"
    )
    assert len(latencies) == len(steps)
    assert p99 <= BOUND + 1.0, sorted(latencies)[-5:]

    # Quiet gaps: the STATE before each one is printed before the feeder
    # writes again, i.e. without waiting for another input line.
    seen_at = {bookmark: at for at, bookmark in run.states}
    gaps = [step["event"] for step in steps[:-1] if step.get("quiet_after")]
    assert len(gaps) >= 3
    for n in gaps:
        assert seen_at[n] < run.written_at[n + 1], n
    assert emu.admin.stats()["rateLimited"] == 0


BACKLOG = re.compile(r"Progress .* backlog=(\d+) oldest_waiting_s=([\d.]+)")


@pytest.mark.slow
def test_input_faster_than_the_budget_queues_without_loss_or_429(
    emulator_factory: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    # 40 events in 2 s against 5 calls per second (2 calls per event): the
    # budget allows 2.5 events per second, the input brings 20.
    emu = emulator_factory(users=0, rate_limit=10, rate_window=2)
    steps = plan(seed=7, duration=2, interval=(0.05, 0.05), state_share=0.25)
    config = base_config(emu, summary_interval_seconds=2)
    for name in ("max_requests_per_minute", "max_wait_seconds"):
        config.pop(name, None)
    run = run_stream(emu, config, steps, tmp_path)
    assert run.returncode == 0, "".join(run.stderr[-20:])

    check_every_event_applied_once(emu, steps)
    check_states_follow_their_writes(emu, run, steps)
    stats = emu.admin.stats()
    assert stats["rateLimited"] == 0
    latencies = [put_received_at(emu, n) - at for n, at in run.written_at.items()]
    # The budget wins: the last events wait far longer than the bound.
    assert max(latencies) > 4 * BOUND, latencies

    # The progress lines show the queue while it lasts, the final one empty.
    found = [BACKLOG.search(line) for line in run.stderr]
    backlog = [(int(m.group(1)), float(m.group(2))) for m in found if m]
    assert any(records > 0 and age > BOUND for records, age in backlog), backlog
    summary = next(line for line in run.stderr if "Run summary" in line)
    print(
        f"\nunder load: {len(latencies)} events in 2 s against 5 calls/s, latency "
        f"p50 {percentile(latencies, 0.5):.1f} s, max {max(latencies):.1f} s; largest backlog "
        f"{max(backlog)[0] if backlog else 0} records; 429s {stats['rateLimited']}"
    )
    assert " backlog=0 " in summary, summary
    longest = float(re.search(r"longest_wait_s=([\d.]+)", summary).group(1))  # type: ignore[union-attr]
    assert longest > 4 * BOUND, summary
