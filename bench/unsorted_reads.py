"""How unsorted input multiplies target-algolia's reads, and what batch_size_rows costs.

Feeds the installed ``target-algolia`` ``--events`` enter/exit events for
``--users`` users, in random order and grouped by user, at several
``batch_size_rows``, against an in-process emulator without a rate limit. Per
run: GETs served (the emulator's count), the summary's repeat counters, wall
time and the target's peak RSS.

    .venv/bin/python -m bench.unsorted_reads --users 3000 --events 30000 --batches 1000,30000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from algolia_emulator import EmulatorServer
from bench.emulator import venv_bin

SUMMARY = re.compile(r"Run summary (.*)")


def events(users: int, count: int, *, grouped: bool, seed: int = 7) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    ids = [f"user-{n:06d}" for n in range(users)]
    rows = [
        (ids[n % users], f"aud-{rng.randrange(20)}", rng.choice(("enter", "exit")))
        for n in range(count)
    ]
    if grouped:
        rows.sort(key=lambda row: row[0])  # stable: each user's events keep their order
    else:
        rng.shuffle(rows)
    return rows


def run(emu: EmulatorServer, rows: list[tuple[str, str, str]], batch: int, tmp: Path) -> dict:
    stream = tmp / "input.jsonl"
    with stream.open("w") as handle:
        handle.write(
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": "a",
                    "schema": {"properties": {}},
                    "key_properties": [],
                }
            )
            + "\n"
        )
        for user, segment, kind in rows:
            record = {"algolia_user_id": user, "segment": segment, "event": kind}
            handle.write(json.dumps({"type": "RECORD", "stream": "a", "record": record}) + "\n")
    config = tmp / "config.json"
    config.write_text(
        json.dumps(
            {
                "app_id": emu.app_id,
                "api_key": emu.api_key,
                "api_url": emu.url,
                "max_requests_per_minute": 10_000_000,
                "summary_interval_seconds": 0,
                "batch_size_rows": batch,
            }
        )
    )
    emu.admin.reset_stats()
    started = time.monotonic()
    with stream.open() as stdin, (tmp / "stderr").open("w") as stderr:
        proc = subprocess.Popen(
            [venv_bin("target-algolia"), "--config", str(config)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    assert status == 0, (tmp / "stderr").read_text()[-2000:]
    summary = SUMMARY.search((tmp / "stderr").read_text())
    fields = dict(p.split("=", 1) for p in summary.group(1).split() if "=" in p) if summary else {}
    gets = emu.admin.stats()["byRoute"].get("GET /2/users/{userID}", 0)
    return {
        "batch_size_rows": batch,
        "gets": gets,
        "users_in_several_batches": fields.get("users_in_several_batches"),
        "repeat_reads": fields.get("repeat_reads"),
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--events", type=int, default=30000)
    parser.add_argument("--batches", default="1000,3000,10000,30000")
    args = parser.parse_args(argv)
    with EmulatorServer(users=0, rate_limit=10_000_000, rate_window=60) as emu:
        for n in range(args.users):
            emu.admin.upsert_user(
                {"userID": f"user-{n:06d}", "lastUpdatedAt": "2026-10-01T00:00:00Z", "segments": []}
            )
        for order in ("random", "grouped"):
            rows = events(args.users, args.events, grouped=order == "grouped")
            for batch in [int(b) for b in args.batches.split(",")]:
                with tempfile.TemporaryDirectory() as tmp:
                    result = run(emu, rows, batch, Path(tmp))
                print(
                    json.dumps(
                        {"order": order, "users": args.users, "events": args.events, **result}
                    ),
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
