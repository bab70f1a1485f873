"""What a skewed server clock costs the tap: ``python -m bench.skew_bench``.

The tap reads ``users`` profiles one per page from an emulator (its own
process) that admits ``limit`` calls per ``window`` seconds, so the sync is
bound by the rate-limit windows, once per clock offset. The cost of a skew is
the throughput lost against the unskewed run, and the extra seconds per
window reset it adds (to be read against Algolia's 60 s window).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.emulator import Emulator, venv_bin
from bench.measure import median, run_measured


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def measure(
    offset: float, *, users: int, limit: int, window: float, reps: int, work: Path
) -> dict[str, float]:
    walls = []
    with Emulator(users, rate_limit=limit, rate_window=window, clock_offset=offset) as emu:
        config = work / f"tap-{offset:+.0f}.json"
        config.write_text(json.dumps(emu.tap_config(page_size=1)))
        for _ in range(reps):
            # A fresh window, as for a scheduled run that starts after the last one ended.
            emu.admin.set_settings(rate_limit=limit, rate_window=window)
            emu.admin.reset_stats()
            run = run_measured(
                f"tap {offset:+.0f}", [venv_bin("tap-algolia"), "--config", str(config)]
            )
            stats = emu.admin.stats()
            if run.returncode != 0 or stats["rateLimited"]:
                msg = f"offset {offset}: exit {run.returncode}, {stats['rateLimited']} 429s"
                raise RuntimeError(msg)
            walls.append(run.wall_s)
    wall = median(walls)
    return {"offset_s": offset, "wall_s": round(wall, 2), "users_per_s": round(users / wall, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.skew_bench", description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--limit", type=int, default=40, help="calls per window")
    parser.add_argument("--window", type=float, default=10.0, help="window in seconds")
    parser.add_argument("--offsets", type=_floats, default=[0.0, -600.0, 600.0])
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args(argv)
    resets = -(-args.users // args.limit) - 1
    with tempfile.TemporaryDirectory(prefix="bench-skew-") as tmp:
        rows = [
            measure(
                offset,
                users=args.users,
                limit=args.limit,
                window=args.window,
                reps=args.reps,
                work=Path(tmp),
            )
            for offset in args.offsets
        ]
    base = next(r for r in rows if r["offset_s"] == 0)
    for row in rows:
        extra = row["wall_s"] - base["wall_s"]
        row["throughput_cost_pct"] = round(100 * (1 - row["users_per_s"] / base["users_per_s"]), 2)
        row["extra_s_per_reset"] = round(extra / resets, 3)
        row["cost_pct_at_60s_window"] = round(100 * extra / resets / 60, 2)
    print(
        json.dumps(
            {
                "users": args.users,
                "limit": args.limit,
                "window_s": args.window,
                "resets": resets,
                "runs": rows,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
