"""What the daily full sync costs beside the hourly incremental one, on one application.

The real ``tap-algolia`` executable against an emulator process holding
``--profiles`` profiles (pages of 1,000), each sync run once, its output
written to a file and counted:

- **full**: the catalog asks for FULL_TABLE (``replication-method`` metadata),
  so every profile is read, every RECORD carries the sync's version and one
  ACTIVATE_VERSION follows the last RECORD;
- **first import**: the incremental stream with no bookmark yet (every profile,
  no version, no ACTIVATE_VERSION);
- **hourly**: the incremental stream continuing from the first import's
  bookmark after ``--changed`` profiles were updated.

Each line gives the API calls (the emulator's counter), wall time, CPU time and
peak RSS (GNU time), records and ACTIVATE_VERSION messages. Exits 1 if the
full sync is not one list call per 1,000 profiles with exactly one
ACTIVATE_VERSION after its last RECORD, or if an incremental sync sends one.

    .venv/bin/python -m bench.deletions_bench                    # 100,000 profiles
    .venv/bin/python -m bench.deletions_bench --profiles 3000 --changed 100
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.emulator import Emulator, venv_bin
from bench.measure import run_measured
from bench.mirror_bench import _calls

PAGE_SIZE = 1000


@dataclass
class Sync:
    name: str
    calls: int
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    records: int
    activations: int
    activation_last: bool
    state: dict[str, Any]

    def line(self) -> str:
        return (
            f"{self.name}: {self.calls:,} calls, {self.wall_s:.2f} s wall, {self.cpu_s:.2f} s CPU, "
            f"{self.max_rss_mb:.1f} MB peak RSS, {self.records:,} records, "
            f"{self.activations} ACTIVATE_VERSION"
            + (" (after the last record)" if self.activation_last else "")
        )


def full_table_catalog(tap: str, config: Path) -> dict[str, Any]:
    catalog = json.loads(
        subprocess.run(
            [tap, "--config", str(config), "--discover"], capture_output=True, check=True
        ).stdout
    )
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if not item["breadcrumb"]:
                item["metadata"]["selected"] = True
                item["metadata"]["replication-method"] = "FULL_TABLE"
    return catalog


def measure(name: str, argv: list[str], emu: Emulator, workdir: Path) -> Sync:
    emu.admin.reset_stats()
    out_path = workdir / f"{name}.jsonl"
    with out_path.open("wb") as out:
        run = run_measured(name, argv, stdout=out, emulator_cpu=emu.cpu_seconds)
    if run.returncode != 0:
        msg = f"{name} failed: {run.stderr_tail[-800:]}"
        raise RuntimeError(msg)
    calls = _calls(emu.admin.stats())["total"]
    kinds: list[str] = []
    state: dict[str, Any] = {}
    with out_path.open("rb") as lines:
        for raw in lines:
            head = raw[:40]
            if b'"RECORD"' in head:
                kinds.append("RECORD")
                continue
            message = json.loads(raw)
            kinds.append(message["type"])
            if message["type"] == "STATE":
                state = message["value"]
    out_path.unlink()
    records = kinds.count("RECORD")
    last_record = max((i for i, kind in enumerate(kinds) if kind == "RECORD"), default=-1)
    activation_last = kinds.count("ACTIVATE_VERSION") == 1 and (
        kinds.index("ACTIVATE_VERSION") == last_record + 1
    )
    return Sync(
        name=name,
        calls=calls,
        wall_s=run.wall_s,
        cpu_s=run.cpu_s,
        max_rss_mb=run.max_rss_mb,
        records=records,
        activations=kinds.count("ACTIVATE_VERSION"),
        activation_last=activation_last,
        state=state,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.deletions_bench", description=__doc__)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=1_000, help="profiles updated in the hour")
    args = parser.parse_args(argv)
    tap = venv_bin("tap-algolia")
    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-deletions-") as tmp,
        Emulator(args.profiles) as emu,
    ):
        workdir = Path(tmp)
        config = workdir / "config.json"
        config.write_text(json.dumps(emu.tap_config(page_size=PAGE_SIZE)))
        catalog = workdir / "catalog.json"
        catalog.write_text(json.dumps(full_table_catalog(tap, config)))
        base = [tap, "--config", str(config)]

        full = measure("full", [*base, "--catalog", str(catalog)], emu, workdir)
        first = measure("first import", base, emu, workdir)
        time.sleep(1.1)  # the changes land after the first import's bookmark (whole seconds)
        for user_id in emu.list_user_ids(args.changed):
            emu.admin.touch(user_id)
        time.sleep(1.1)
        state = workdir / "state.json"
        state.write_text(json.dumps(first.state))
        hourly = measure("hourly", [*base, "--state", str(state)], emu, workdir)

    print(
        f"{args.profiles:,} profiles, pages of {PAGE_SIZE:,}, {args.changed:,} changed in the hour:"
    )
    for sync in (full, first, hourly):
        print("  " + sync.line())
    pages = math.ceil(args.profiles / PAGE_SIZE)
    if full.calls != pages or full.records != args.profiles:
        problems.append(f"full sync: {full.calls} calls for {full.records} records, not {pages}")
    if not full.activation_last:
        problems.append("full sync: not exactly one ACTIVATE_VERSION right after the last record")
    if first.activations or hourly.activations:
        problems.append("an incremental sync sent ACTIVATE_VERSION")
    if hourly.records < args.changed:
        problems.append(f"hourly sync: {hourly.records} records for {args.changed} changes")
    for problem in problems:
        print("FAIL: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
