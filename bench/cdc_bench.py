"""Change data capture against mirror mode: API calls for one hour's audience changes.

The same churn both ways, on an application of 100,000 profiles with an
audience of 20,000 (target-algolia's defaults, the real executable, the
emulator in its own process, its call counter):

- **CDC**: 400 changes as tap-postgres sends a LOG_BASED stream (wal2json):
  200 rows inserted (``_sdc_deleted_at`` null, no event column) and 200 rows
  deleted (``_sdc_deleted_at`` set); the SCHEMA declares ``_sdc_deleted_at``;
- **mirror**: the table of current members after the same 200 joins and 200
  leaves, read in full (snapshot records, ACTIVATE_VERSION after them), as
  ``bash bench/run.sh --only mirror`` measures it.

    .venv/bin/python -m bench.cdc_bench                       # 100,000 profiles, 400 changes
    .venv/bin/python -m bench.cdc_bench --profiles 2000 --audience 400 --changes 40
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.emulator import Emulator
from bench.mirror_bench import PROVEN_RE, _calls, load_profiles, profile_id, write_members
from bench.target_bench import HIGH_LIMIT, run_target, target_config

STREAM = "public-audience_memberships"
DELETED_AT = "2026-10-02T09:30:00+00:00"


def write_changes(path: Path, joiners: list[int], leavers: list[int], audience: str) -> Path:
    """The LOG_BASED stream of the changes: inserts for ``joiners``, deletes for ``leavers``."""
    schema = {
        "type": "SCHEMA",
        "stream": STREAM,
        "schema": {
            "type": "object",
            "properties": {
                "algolia_user_id": {"type": ["string", "null"]},
                "segment": {"type": ["string", "null"]},
                "_sdc_deleted_at": {"type": ["string", "null"]},
                "_sdc_lsn": {"type": ["integer", "null"]},
            },
        },
        "key_properties": [],
    }
    changes = [(i, None) for i in joiners] + [(i, DELETED_AT) for i in leavers]
    with path.open("w") as handle:
        handle.write(json.dumps(schema) + "\n")
        for lsn, (index, deleted_at) in enumerate(changes, start=1):
            row = {
                "algolia_user_id": profile_id(index),
                "segment": audience,
                "_sdc_deleted_at": deleted_at,
                "_sdc_lsn": lsn,
            }
            handle.write(json.dumps({"type": "RECORD", "stream": STREAM, "record": row}) + "\n")
        handle.write(json.dumps({"type": "STATE", "value": {"lsn": len(changes)}}) + "\n")
    return path


def holds(emu: Emulator, index: int, audience: str) -> bool:
    user = emu.admin.get_user(profile_id(index)) or {}
    return any(s["id"] == audience for s in user.get("segments") or [])


def measure(profiles: int, audience: int, changes: int, workdir: Path) -> dict[str, Any]:
    name = "bench_cdc"
    churn = changes // 2
    before = set(range(audience))
    step = audience // churn
    leavers = [i * step for i in range(churn)]  # spread over every page
    joiners = list(range(audience, audience + churn))
    results: dict[str, Any] = {"profiles": profiles, "audience": audience, "changes": 2 * churn}
    with Emulator(0, rate_limit=HIGH_LIMIT) as emu:
        load_profiles(emu, profiles, before, name)
        stream = write_changes(workdir / "cdc.jsonl", joiners, leavers, name)
        run = run_target(emu, target_config(emu, workdir / "cdc.json"), stream)
        results["cdc"] = {
            "calls": _calls(run["stats"]),
            "summary": run["summary"],
            # A sample of the changed profiles: joiners hold the segment, leavers do not.
            "applied": all(holds(emu, i, name) for i in joiners[:5])
            and not any(holds(emu, i, name) for i in leavers[:5]),
        }

        load_profiles(emu, profiles, before, name)
        members = sorted((before - set(leavers)) | set(joiners))
        snapshot = write_members(workdir / "mirror.jsonl", members, name, versioned=True)
        config = target_config(
            emu,
            workdir / "mirror.json",
            mirror_streams=[{"stream": "audience_members", "audiences": [name]}],
        )
        run = run_target(emu, config, snapshot, stamp_version=True)
        proven = PROVEN_RE.search(run["summary"])
        results["mirror"] = {
            "calls": _calls(run["stats"]),
            "summary": run["summary"],
            "removed": int(proven.group(2)) if proven else 0,
        }
    cdc = results["cdc"]["calls"]
    results["cdc"]["calls_per_changed_user"] = round(cdc["total"] / (2 * churn), 3)
    results["holds"] = (
        cdc["list"] == 0 and cdc["total"] <= 2 * 2 * churn and results["cdc"]["applied"]
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cdc_bench", description=__doc__)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--audience", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=400)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-cdc-") as tmp:
        results = measure(args.profiles, args.audience, args.changes, Path(tmp))
    cdc, mirror = results["cdc"]["calls"], results["mirror"]["calls"]
    print(
        f"{results['changes']} changes on {results['profiles']:,} profiles "
        f"(audience of {results['audience']:,}):"
    )
    print(
        f"  CDC (LOG_BASED rows):   {cdc['total']:>6,} calls  (list {cdc['list']}, "
        f"GET {cdc['get']}, PUT {cdc['put']}; "
        f"{results['cdc']['calls_per_changed_user']} per changed user)"
    )
    print(
        f"  mirror (whole table):   {mirror['total']:>6,} calls  (list {mirror['list']}, "
        f"GET {mirror['get']}, PUT {mirror['put']}; {results['mirror']['removed']} removed)"
    )
    print(json.dumps(results, indent=2))
    return 0 if results["holds"] else 1


if __name__ == "__main__":
    sys.exit(main())
