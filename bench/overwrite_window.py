"""target-algolia's overwrite window: per user, the time from the GET that read the
profile to the PUT that replaced its segments.

A write by another system that lands in that window is overwritten (the target
merges onto what it read). Measured on the emulator's side: the moment it
serves each user's GET and receives its PUT, for every user of a run of the
installed ``target-algolia`` with the given settings, at Algolia's own limit of
500 calls per 60 s.

    .venv/bin/python -m bench.overwrite_window                      # defaults: 48 users
    .venv/bin/python -m bench.overwrite_window --users 400 --concurrency 1 --budget 400
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path

from algolia_emulator import EmulatorServer
from bench.emulator import venv_bin

USER_PATH = "/2/users/"


def measure(
    users: int, *, concurrency: int, budget: int, latency_ms: float, rate_limit: int = 500
) -> dict[str, t.Any]:
    """One target run; the GET-to-PUT gap of every user it wrote, in seconds."""
    with EmulatorServer(
        users=0, rate_limit=rate_limit, rate_window=60, latency_ms=latency_ms
    ) as emu:
        ids = [f"user-{n:05d}" for n in range(users)]
        for user_id in ids:
            emu.admin.upsert_user(
                {"userID": user_id, "lastUpdatedAt": "2026-10-01T00:00:00Z", "segments": []}
            )
        gets: dict[str, tuple[float, int]] = {}
        puts: dict[str, tuple[float, int]] = {}
        calls = [0]
        lock = threading.Lock()
        faults = emu.emulator.faults
        original = faults.take_status

        def take_status(method: str, path: str) -> t.Any:
            # Called for every API call once it is read (after any latency).
            with lock:
                calls[0] += 1
                if path.startswith(USER_PATH):
                    user_id = path[len(USER_PATH) :].split("/")[0]
                    seen = gets if method == "GET" else puts if method == "PUT" else {}
                    seen.setdefault(user_id, (time.monotonic(), calls[0]))
            return original(method, path)

        faults.take_status = take_status  # type: ignore[method-assign]
        lines = [
            {"type": "SCHEMA", "stream": "a", "schema": {"properties": {}}, "key_properties": []}
        ]
        lines += [
            {
                "type": "RECORD",
                "stream": "a",
                "record": {"algolia_user_id": u, "segment": "vip", "event": "enter"},
            }
            for u in ids
        ]
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.json"
            config.write_text(
                json.dumps(
                    {
                        "app_id": emu.app_id,
                        "api_key": emu.api_key,
                        "api_url": emu.url,
                        "max_requests_per_minute": budget,
                        "concurrency": concurrency,
                        "summary_interval_seconds": 0,
                    }
                )
            )
            started = time.monotonic()
            subprocess.run(
                [venv_bin("target-algolia"), "--config", str(config)],
                input="".join(json.dumps(line) + "\n" for line in lines),
                text=True,
                capture_output=True,
                check=True,
            )
            seconds = time.monotonic() - started
        written = [u for u in ids if u in puts and u in gets]
        gaps = sorted(puts[u][0] - gets[u][0] for u in written)
        # Other API calls the emulator received between a user's GET and its PUT.
        between = sorted(puts[u][1] - gets[u][1] - 1 for u in written)
    return {
        "users": users,
        "concurrency": concurrency,
        "budget": budget,
        "latency_ms": latency_ms,
        "written": len(written),
        "run_seconds": round(seconds, 1),
        "median": round(statistics.median(gaps), 3),
        "p90": round(gaps[int(0.9 * (len(gaps) - 1))], 3),
        "max": round(gaps[-1], 3),
        "calls_between_median": statistics.median(between),
        "calls_between_max": between[-1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=48)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--budget", type=int, default=400, help="max_requests_per_minute")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="emulator latency per call")
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args(argv)
    for _ in range(args.reps):
        result = measure(
            args.users, concurrency=args.concurrency, budget=args.budget, latency_ms=args.latency_ms
        )
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
