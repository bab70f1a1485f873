"""The one benchmark command: ``bash bench/run.sh [--smoke] [--users 50000,200000] ...``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import meltano_bench, mirror_bench, profile_bench, report, tap_bench, target_bench

ROOT = Path(__file__).resolve().parent.parent


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--smoke", action="store_true", help="tiny sizes, 1 repetition (for CI)")
    p.add_argument("--users", type=_ints, help="tap throughput user counts (50000,200000)")
    p.add_argument("--memory-users", type=_ints, help="tap memory user counts (20000,200000)")
    p.add_argument("--reps", type=int, help="repetitions per contender (3; smoke 1)")
    p.add_argument("--out", type=Path, help="output folder (docs/; smoke: a temp folder)")
    p.add_argument("--no-msdk", action="store_true", help="skip tap-rest-api-msdk")
    p.add_argument("--msdk", action="store_true", help="include tap-rest-api-msdk in smoke mode")
    p.add_argument("--no-meltano", action="store_true")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--no-target", action="store_true")
    p.add_argument("--no-mirror", action="store_true")
    p.add_argument("--no-chart", action="store_true")
    p.add_argument(
        "--only",
        choices=["tap", "memory", "target", "mirror", "meltano", "profile"],
        action="append",
        help="run only these parts (repeatable)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    smoke = args.smoke
    users = args.users or ([300] if smoke else [50_000, 200_000])
    memory_users = args.memory_users or ([200, 600] if smoke else [20_000, 200_000])
    reps = args.reps or (1 if smoke else 3)
    with_msdk = (args.msdk or not smoke) and not args.no_msdk
    parts = set(args.only or ["tap", "memory", "target", "mirror", "meltano", "profile"])
    if smoke:
        parts -= {"meltano", "profile"} if not args.only else set()
    if args.no_meltano:
        parts.discard("meltano")
    if args.no_profile:
        parts.discard("profile")
    if args.no_target:
        parts.discard("target")
    if args.no_mirror:
        parts.discard("mirror")
    out = args.out or (Path(tempfile.mkdtemp(prefix="bench-smoke-")) if smoke else ROOT / "docs")
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[bench {time.monotonic() - started:6.1f}s] {message}", flush=True)

    results: dict[str, Any] = {
        "mode": "smoke" if smoke else "full",
        "reps": reps,
        "machine": report.machine(),
        "notes": [],
    }
    previous = out / "benchmarks.json"
    if args.only and not smoke and previous.exists():
        # A partial run updates its parts of the report and keeps the others.
        kept = json.loads(previous.read_text())
        measured = ", ".join(sorted(parts))
        kept_commit = kept.get("machine", {}).get("commit")
        kept["notes"] = [n for n in kept.get("notes", []) if not n.startswith("Partial re-run")] + [
            f"Partial re-run of {measured} at commit {results['machine']['commit']} "
            f"({results['machine']['date']}); every other part was measured at commit "
            f"{kept_commit}."
        ]
        results = {**kept, "notes": kept["notes"]}
    with tempfile.TemporaryDirectory(prefix="bench-work-") as tmp:
        work = Path(tmp)
        if "tap" in parts:
            log("floor check: RECORD lines of floor.py vs tap-algolia")
            results["floor_check"] = tap_bench.check_floor(300 if smoke else 3000, work)
            log(f"  {results['floor_check']}")
            results["tap_throughput"] = {}
            if with_msdk and tap_bench.msdk_executable() is None:
                results["notes"].append(
                    "tap-rest-api-msdk not installed: compared with the floor only"
                )
            for n in users:
                log(f"tap throughput, {n:,} users")
                results["tap_throughput"][str(n)] = tap_bench.throughput(
                    n, work, reps=reps, with_msdk=with_msdk, log=log
                )
        if "memory" in parts:
            points = []
            for n in memory_users:
                block = results.get("tap_throughput", {}).get(str(n))
                if block:  # the throughput runs already measured the tap alone at this size
                    c = block["contenders"]["tap"]
                    points.append(
                        {
                            "users": n,
                            "max_rss_mb": c["max_rss_mb"],
                            "median_max_rss_mb": c["median_max_rss_mb"],
                        }
                    )
                    continue
                log(f"tap memory, {n:,} users")
                points.append(tap_bench.memory(n, work, reps=reps, log=log))
            points.sort(key=lambda p: p["users"])
            ratio = (
                round(points[-1]["median_max_rss_mb"] / points[0]["median_max_rss_mb"], 3)
                if len(points) > 1 and points[0]["median_max_rss_mb"]
                else None
            )
            results["tap_memory"] = {"points": points, "ratio": ratio}
        if "target" in parts:
            log("target API use")
            sizes: dict[str, Any] = (
                {
                    "pool": 60,
                    "changed_users": 10,
                    "budget_users": 12,
                    "budget_limit": 10,
                    "budget_window": 1.0,
                    "speed_users": 4,
                }
                if smoke
                else {
                    "pool": 2000,
                    "changed_users": 500,
                    "budget_users": 150,
                    "budget_limit": 60,
                    "budget_window": 10.0,
                    "speed_users": 100,
                }
            )
            results["target"] = target_bench.target_suite(work, reps=reps, log=log, **sizes)
        if "mirror" in parts:
            log("target at audience scale: list scan and mirror mode")
            results["mirror"] = mirror_bench.mirror_suite(work, smoke=smoke, log=log)
        if "meltano" in parts:
            log("meltano overhead")
            results["meltano"] = meltano_bench.meltano_overhead(
                200 if smoke else 1000, reps=reps, log=log
            )
        if "profile" in parts:
            log("profiles")
            results["profiles"] = profile_bench.profile_suite(
                out / "profiles" if smoke else ROOT / "bench" / "output" / "profiles",
                tap_users=2000 if smoke else 50_000,
                target_users=50 if smoke else 2000,
                log=log,
            )
    results["verdicts"] = report.verdicts(results)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    json_path = out / "benchmarks.json"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    png = None
    if not args.no_chart and not smoke:
        png = report.chart(json_path, out / "benchmarks.png")
    if png is None and args.only and not smoke and (out / "benchmarks.png").exists():
        png = str(out / "benchmarks.png")  # a partial run without the chart tools keeps it
    (out / "benchmarks.md").write_text(report.markdown(results, Path(png).name if png else None))
    log(f"wrote {out / 'benchmarks.md'} and {json_path}" + (f" and {png}" if png else ""))
    for v in results["verdicts"]:
        mark = {True: "ok  ", False: "FAIL", None: "    "}[v["holds"]]
        log(f"{mark} {v['name']}: {v['value']} (target {v['target']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
