"""Tap throughput (tap vs floor vs tap-rest-api-msdk) and tap peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.emulator import Emulator, venv_bin
from bench.measure import Run, median, run_measured

BENCH_DIR = Path(__file__).resolve().parent
PAGE_SIZE = 1000


@dataclass
class Contender:
    name: str
    argv: list[str]


def msdk_executable() -> str | None:
    path = BENCH_DIR / ".venvs" / "msdk" / "bin" / "tap-rest-api-msdk"
    return str(path) if path.exists() else None


def msdk_config(emu: Emulator) -> dict[str, Any]:
    """tap-rest-api-msdk pointed at GET /2/users, paging on nextPageToken, 1000 per page."""
    config = emu.tap_config()
    return {
        "api_url": config["api_url"],
        "headers": {
            "x-algolia-application-id": config["app_id"],
            "x-algolia-api-key": config["api_key"],
        },
        # Body field that holds the token, and the query parameter that sends it back.
        "pagination_request_style": "jsonpath_paginator",
        "pagination_response_style": "page",
        "next_page_token_path": "$.nextPageToken",
        "pagination_next_page_param": "nextPageToken",
        "streams": [
            {
                "name": "users",
                "path": "/2/users",
                "params": {"limit": PAGE_SIZE},
                "records_path": "$.users[*]",
                "primary_keys": ["userID"],
                # Schema inferred from the first records (the tap's default), as a
                # user configuring it for this API would do; it costs one request.
            }
        ],
    }


def contenders(emu: Emulator, workdir: Path, *, with_msdk: bool) -> list[Contender]:
    tap_cfg = workdir / f"tap-{emu.users}.json"
    tap_cfg.write_text(json.dumps(emu.tap_config(page_size=PAGE_SIZE)))
    out = [
        Contender("tap", [venv_bin("tap-algolia"), "--config", str(tap_cfg)]),
        Contender("floor", [sys.executable, str(BENCH_DIR / "floor.py"), "--config", str(tap_cfg)]),
    ]
    msdk = msdk_executable() if with_msdk else None
    if msdk:
        msdk_cfg = workdir / f"msdk-{emu.users}.json"
        msdk_cfg.write_text(json.dumps(msdk_config(emu)))
        out.append(Contender("msdk", [msdk, "--config", str(msdk_cfg)]))
    return out


def count_records(argv: list[str]) -> tuple[int, int]:
    """Run once with output captured: (RECORD lines, exit code). Untimed; also a warm-up."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    records = 0
    for line in proc.stdout:
        # singer-sdk versions differ in separators: '"type":"RECORD"' or '"type": "RECORD"'.
        if b'"RECORD"' in line[:40]:
            records += 1
    return records, proc.wait()


def throughput(
    users: int, workdir: Path, *, reps: int, with_msdk: bool, log: Any = print
) -> dict[str, Any]:
    """Alternating runs (tap, floor, msdk, tap, ...) against one emulator process."""
    with Emulator(users) as emu:
        lineup = contenders(emu, workdir, with_msdk=with_msdk)
        verified: dict[str, int] = {}
        for contender in lineup:
            records, code = count_records(contender.argv)
            log(f"  verify {contender.name}: {records} records (exit {code})")
            if code != 0:
                msg = f"{contender.name} failed on {users} users (exit {code})"
                raise RuntimeError(msg)
            verified[contender.name] = records
        runs: dict[str, list[Run]] = {c.name: [] for c in lineup}
        for rep in range(reps):
            for contender in lineup:
                run = run_measured(contender.name, contender.argv, emulator_cpu=emu.cpu_seconds)
                if run.returncode != 0:
                    msg = f"{contender.name} failed: {run.stderr_tail[-800:]}"
                    raise RuntimeError(msg)
                runs[contender.name].append(run)
                log(
                    f"  [{users}] rep {rep + 1}/{reps} {contender.name}: "
                    f"{run.wall_s:.2f}s (cpu {run.cpu_s:.2f}s), {run.max_rss_mb:.0f} MB, "
                    f"emulator cpu {run.emulator_cpu_s:.2f}s"
                )
    result: dict[str, Any] = {"users": users, "records": verified, "contenders": {}}
    for name, name_runs in runs.items():
        wall = median([r.wall_s for r in name_runs])
        emu_cpu = median([r.emulator_cpu_s for r in name_runs])
        result["contenders"][name] = {
            "wall_s": [round(r.wall_s, 3) for r in name_runs],
            "median_wall_s": round(wall, 3),
            "records_per_s": round(verified[name] / wall, 1) if wall else None,
            "cpu_s": [round(r.cpu_s, 3) for r in name_runs],
            "median_cpu_s": round(median([r.cpu_s for r in name_runs]), 3),
            "max_rss_mb": [round(r.max_rss_mb, 1) for r in name_runs],
            "median_max_rss_mb": round(median([r.max_rss_mb for r in name_runs]), 1),
            "emulator_cpu_s": round(emu_cpu, 3),
            "emulator_cpu_share": round(emu_cpu / wall, 3) if wall else None,
        }
    walls = {name: c["median_wall_s"] for name, c in result["contenders"].items()}
    cpus = {name: c["median_cpu_s"] for name, c in result["contenders"].items()}
    result["tap_time_over_floor"] = round(walls["tap"] / walls["floor"], 3)
    result["tap_cpu_over_floor"] = round(cpus["tap"] / cpus["floor"], 3)
    if "msdk" in walls:
        result["msdk_time_over_tap"] = round(walls["msdk"] / walls["tap"], 3)
        result["msdk_cpu_over_tap"] = round(cpus["msdk"] / cpus["tap"], 3)
    return result


def memory(users: int, workdir: Path, *, reps: int, log: Any = print) -> dict[str, Any]:
    """Peak RSS of the tap alone (stdout to /dev/null), median of ``reps`` runs."""
    with Emulator(users) as emu:
        tap = contenders(emu, workdir, with_msdk=False)[0]
        count_records(tap.argv)  # warm the emulator's response cache
        rss = []
        for rep in range(reps):
            run = run_measured("tap", tap.argv, emulator_cpu=emu.cpu_seconds)
            if run.returncode != 0:
                msg = f"tap failed: {run.stderr_tail[-800:]}"
                raise RuntimeError(msg)
            rss.append(run.max_rss_mb)
            log(f"  [{users}] memory rep {rep + 1}/{reps}: {run.max_rss_mb:.1f} MB")
    return {
        "users": users,
        "max_rss_mb": [round(x, 1) for x in rss],
        "median_max_rss_mb": round(median(rss), 1),
    }


def _record_lines(argv: list[str]) -> list[bytes]:
    out = subprocess.run(argv, capture_output=True, check=True).stdout
    return [line for line in out.splitlines() if b'"RECORD"' in line[:40]]


def check_floor(users: int, workdir: Path) -> dict[str, Any]:
    """Is the floor's output the tap's? RECORD lines compared byte for byte up to time_extracted."""
    with Emulator(users) as emu:
        tap, floor = contenders(emu, workdir, with_msdk=False)[:2]
        tap_lines, floor_lines = _record_lines(tap.argv), _record_lines(floor.argv)
    marker = b',"time_extracted"'
    differing = sum(
        1
        for a, b in zip(tap_lines, floor_lines, strict=False)
        if a.split(marker)[0] != b.split(marker)[0]
    )
    return {
        "users": users,
        "tap_records": len(tap_lines),
        "floor_records": len(floor_lines),
        "differing_records": differing,
        "identical": differing == 0 and len(tap_lines) == len(floor_lines),
    }
