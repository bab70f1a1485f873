"""target-algolia's API use: calls per user, share of the rate-limit budget, concurrency."""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from bench.emulator import SEED, Emulator, StatsSampler, venv_bin
from bench.measure import median, run_measured

PER_USER_ROUTES = ("GET /2/users/{userID}", "PUT /2/users/{userID}/segments")
HIGH_LIMIT = 1_000_000
SUMMARY_RE = re.compile(r"Run summary .*")
#: What a recorded stream carries in place of its FULL_TABLE version: the
#: target accepts a version only if its sync began with this run, so
#: :func:`run_target` stamps the time of the run's start in as it feeds it.
VERSION_SLOT = 0
_VERSION_SLOT_BYTES = b'"version": 0'


def write_events(path: Path, events: list[tuple[str, str, str]]) -> Path:
    """A Singer stream of audience events ``(user_id, segment, enter|exit)``."""
    schema = {
        "type": "SCHEMA",
        "stream": "audience_events",
        "schema": {
            "type": "object",
            "properties": {
                "algolia_user_id": {"type": "string"},
                "segment": {"type": "string"},
                "event": {"type": "string"},
            },
        },
        "key_properties": [],
    }
    with path.open("w") as handle:
        handle.write(json.dumps(schema) + "\n")
        for user_id, segment, event in events:
            record = {"algolia_user_id": user_id, "segment": segment, "event": event}
            message = {"type": "RECORD", "stream": "audience_events", "record": record}
            handle.write(json.dumps(message) + "\n")
    return path


def target_config(emu: Emulator, path: Path, **extra: Any) -> Path:
    config = emu.tap_config(max_requests_per_minute=HIGH_LIMIT, summary_interval_seconds=0, **extra)
    path.write_text(json.dumps(config))
    return path


@contextlib.contextmanager
def _stamped(events: Path) -> Any:
    """``events`` fed through a pipe with :data:`VERSION_SLOT` replaced by the epoch second
    the feed starts, as a tap makes its version when its sync begins."""
    read_end, write_end = os.pipe()
    version = b'"version": %d' % int(time.time())

    def feed() -> None:
        # A target that stops early closes the pipe: nothing more to feed.
        with contextlib.suppress(BrokenPipeError):  # noqa: SIM117
            with events.open("rb") as source, os.fdopen(write_end, "wb") as sink:
                for line in source:
                    sink.write(line.replace(_VERSION_SLOT_BYTES, version))

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    with os.fdopen(read_end, "rb") as stdin:
        yield stdin
    feeder.join(timeout=60)


def run_target(
    emu: Emulator, config: Path, events: Path, *, sample: bool = False, stamp_version: bool = False
) -> dict[str, Any]:
    """One target run fed from ``events``; the emulator's stats for it; its summary line.

    ``stamp_version``: the stream's FULL_TABLE version is the time of this run.
    """
    emu.admin.reset_stats()
    argv = [venv_bin("target-algolia"), "--config", str(config)]
    samples: list[tuple[float, int, int]] = []
    with _stamped(events) if stamp_version else events.open("rb") as stdin:
        if sample:
            with StatsSampler(emu.admin) as sampler:
                run = run_measured("target", argv, stdin=stdin, emulator_cpu=emu.cpu_seconds)
            samples = sampler.samples
        else:
            run = run_measured("target", argv, stdin=stdin, emulator_cpu=emu.cpu_seconds)
    if run.returncode != 0:
        msg = f"target-algolia failed: {run.stderr_tail[-1500:]}"
        raise RuntimeError(msg)
    summary = SUMMARY_RE.search(run.stderr_tail)
    return {
        "wall_s": run.wall_s,
        "max_rss_mb": run.max_rss_mb,
        "stats": emu.admin.stats(),
        "summary": summary.group(0).strip() if summary else "",
        "samples": samples,
    }


def _reset(emu: Emulator, **settings: Any) -> None:
    emu.admin.reset(users=emu.users, seed=SEED)
    emu.admin.set_settings(**settings)


def _per_user(stats: dict[str, Any], user_ids: list[str]) -> dict[str, Any]:
    gets, puts = stats.get("userGets", {}), stats.get("userPuts", {})
    per_user = [gets.get(u, 0) + puts.get(u, 0) for u in user_ids]
    by_route = stats.get("byRoute", {})
    overhead = stats["total"] - sum(by_route.get(r, 0) for r in PER_USER_ROUTES)
    return {
        "users": len(user_ids),
        "calls_per_user": round(sum(per_user) / len(per_user), 3),
        "max_calls_per_user": max(per_user),
        "gets": sum(gets.get(u, 0) for u in user_ids),
        "puts": sum(puts.get(u, 0) for u in user_ids),
        "run_overhead_calls": overhead,
        "by_route": by_route,
        "rate_limited": stats.get("rateLimited", 0),
    }


def calls_per_user(emu: Emulator, workdir: Path, changed_users: int) -> dict[str, Any]:
    """Run 1 changes every user; run 2 replays the same events, so nothing changes.

    Every user gets ``enter bench_a``; every second user also ``enter bench_b``
    (two events, one user: a target that coalesces still needs one GET + one PUT).
    """
    _reset(emu, rate_limit=HIGH_LIMIT, rate_window=60, latency_ms=0)
    user_ids = emu.list_user_ids(changed_users)
    emu.admin.reset_stats()
    events: list[tuple[str, str, str]] = []
    for index, user_id in enumerate(user_ids):
        events.append((user_id, "bench_a", "enter"))
        if index % 2 == 0:
            events.append((user_id, "bench_b", "enter"))
    stream = write_events(workdir / "events-changed.jsonl", events)
    config = target_config(emu, workdir / "target-calls.json")
    first = run_target(emu, config, stream)
    second = run_target(emu, config, stream)
    return {
        "records": len(events),
        "changed": {**_per_user(first["stats"], user_ids), "summary": first["summary"]},
        "unchanged": {**_per_user(second["stats"], user_ids), "summary": second["summary"]},
    }


def windows_from_samples(
    samples: list[tuple[float, int, int]], window: float
) -> list[tuple[float, int]]:
    """Replay the emulator's fixed windows (one opens at the first call after the last ended).

    Calls seen between two samples are placed at the midpoint between them.
    """
    windows: list[list[float]] = []
    previous_t, previous_n = None, 0
    for t, accepted, _limited in samples:
        delta = accepted - previous_n
        if delta > 0 and previous_t is not None:
            at = (previous_t + t) / 2
            if not windows or at >= windows[-1][0] + window:
                windows.append([at, 0])
            windows[-1][1] += delta
        previous_t, previous_n = t, accepted
    return [(start, int(count)) for start, count in windows]


def budget_share(
    samples: list[tuple[float, int, int]], limit: int, window: float
) -> dict[str, Any]:
    """Budget use = calls in all windows but the last / (limit x those windows' span / window).

    The span runs from the start of the first window to the start of the last,
    so time lost between a window's end and the next call counts against the
    client, and the final, partly used window (the run simply ended) does not.
    """
    windows = windows_from_samples(samples, window)
    if len(windows) < 2:
        return {"windows": len(windows), "budget_use": None}
    span = windows[-1][0] - windows[0][0]
    used = sum(count for _start, count in windows[:-1])
    first_t = windows[0][0]
    busy = [t for t, n, _ in samples if n == samples[-1][1]]
    last_t = busy[0] if busy else samples[-1][0]
    total = samples[-1][1]
    return {
        "windows": len(windows),
        "calls_per_window": [count for _start, count in windows],
        "budget_use": round(used / (limit * span / window), 4),
        "overall_rate_over_limit": round(total / max(last_t - first_t, 1e-9) / (limit / window), 4),
    }


def budget(emu: Emulator, workdir: Path, users: int, limit: int, window: float) -> dict[str, Any]:
    """Every user changes (two calls each) under a small rate limit; the target's own cap high."""
    _reset(emu, rate_limit=HIGH_LIMIT, rate_window=60, latency_ms=0)
    user_ids = emu.list_user_ids(users)
    _reset(emu, rate_limit=limit, rate_window=window, latency_ms=0)
    stream = write_events(
        workdir / "events-budget.jsonl", [(u, "bench_budget", "enter") for u in user_ids]
    )
    config = target_config(emu, workdir / "target-budget.json")
    result = run_target(emu, config, stream, sample=True)
    share = budget_share(result["samples"], limit, window)
    return {
        "users": users,
        "rate_limit": limit,
        "rate_window_s": window,
        "wall_s": round(result["wall_s"], 3),
        "calls": result["stats"]["total"],
        "rate_limited": result["stats"].get("rateLimited", 0),
        **share,
        "summary": result["summary"],
    }


def _api_phase(samples: list[tuple[float, int, int]]) -> float:
    """Seconds from the first API call seen to the last."""
    moving = [(t, n) for t, n, _ in samples]
    first = next((t for t, n in moving if n > 0), None)
    final = moving[-1][1] if moving else 0
    last = next((t for t, n in moving if n == final), None)
    return (last - first) if first is not None and last is not None else float("nan")


def speedup(
    emu: Emulator, workdir: Path, users: int, latency_ms: float, reps: int, concurrency: int = 8
) -> dict[str, Any]:
    """Wall time with concurrency=1 vs the default concurrency at ``latency_ms`` per call."""
    _reset(emu, rate_limit=HIGH_LIMIT, rate_window=60, latency_ms=0)
    user_ids = emu.list_user_ids(users)
    stream = write_events(
        workdir / "events-speedup.jsonl", [(u, "bench_speed", "enter") for u in user_ids]
    )
    configs = {
        "serial": target_config(emu, workdir / "target-serial.json", concurrency=1),
        "concurrent": target_config(
            emu, workdir / "target-concurrent.json", concurrency=concurrency
        ),
    }
    walls: dict[str, list[float]] = {"serial": [], "concurrent": []}
    phases: dict[str, list[float]] = {"serial": [], "concurrent": []}
    calls: dict[str, int] = {}
    for _rep in range(reps):
        for mode, config in configs.items():
            _reset(emu, rate_limit=HIGH_LIMIT, rate_window=60, latency_ms=latency_ms)
            result = run_target(emu, config, stream, sample=True)
            walls[mode].append(round(result["wall_s"], 3))
            phases[mode].append(round(_api_phase(result["samples"]), 3))
            calls[mode] = result["stats"]["total"]
    emu.admin.set_settings(latency_ms=0)
    serial, concurrent = median(walls["serial"]), median(walls["concurrent"])
    return {
        "users": users,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "calls": calls,
        "wall_s": walls,
        "api_phase_s": phases,
        "speedup_wall": round(serial / concurrent, 2),
        "speedup_api_phase": round(median(phases["serial"]) / median(phases["concurrent"]), 2),
    }


def target_suite(
    workdir: Path,
    *,
    pool: int,
    changed_users: int,
    budget_users: int,
    budget_limit: int,
    budget_window: float,
    speed_users: int,
    reps: int,
    log: Any = print,
) -> dict[str, Any]:
    with Emulator(pool) as emu:
        log("  target: calls per user")
        calls = calls_per_user(emu, workdir, changed_users)
        log(
            f"    changed {calls['changed']['calls_per_user']}, unchanged "
            f"{calls['unchanged']['calls_per_user']}"
        )
        log(f"  target: budget share ({budget_limit}/{budget_window:g}s)")
        share = budget(emu, workdir, budget_users, budget_limit, budget_window)
        log(f"    budget use {share['budget_use']}, 429s {share['rate_limited']}")
        log("  target: speed-up at 50 ms per call")
        speed = speedup(emu, workdir, speed_users, 50.0, reps)
        log(f"    speed-up {speed['speedup_wall']}x (wall), {speed['speedup_api_phase']}x (API)")
    return {"calls_per_user": calls, "budget": share, "speedup": speed}
