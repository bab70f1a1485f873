"""Overhead of ``meltano run tap-algolia target-jsonl`` over the same two plugins piped by hand."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bench.emulator import Emulator
from bench.measure import median, run_measured

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
TAP = ROOT / ".meltano" / "extractors" / "tap-algolia" / "venv" / "bin" / "tap-algolia"
TARGET = ROOT / ".meltano" / "loaders" / "target-jsonl" / "venv" / "bin" / "target-jsonl"


def readiness() -> str | None:
    """None when Meltano is set up (scripts/setup-meltano.sh), else what is missing."""
    for path in (ROOT / "meltano.yml", MELTANO, TAP, TARGET):
        if not path.exists():
            return f"{path.relative_to(ROOT)} missing (run scripts/setup-meltano.sh)"
    return None


def meltano_overhead(users: int, reps: int, log: Any = print) -> dict[str, Any]:
    problem = readiness()
    if problem:
        return {"skipped": problem}
    with tempfile.TemporaryDirectory(prefix="bench-meltano-") as tmp, Emulator(users) as emu:
        work = Path(tmp)
        out_meltano, out_direct = work / "out-meltano", work / "out-direct"
        out_meltano.mkdir()
        out_direct.mkdir()
        env = {
            "MELTANO_ENVIRONMENT": "dev",
            # A private system database: no state from (or for) anyone else's runs.
            "MELTANO_DATABASE_URI": f"sqlite:///{work / 'meltano.db'}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            "TAP_ALGOLIA_API_URL": emu.url,
            "TARGET_JSONL_DESTINATION_PATH": str(out_meltano),
        }
        meltano_argv = [
            str(MELTANO),
            "--log-level=warning",
            "run",
            "--full-refresh",
            "--no-state-update",
            "--no-install",
            "tap-algolia",
            "target-jsonl",
        ]
        tap_cfg = work / "tap.json"
        tap_cfg.write_text(json.dumps(emu.tap_config(page_size=1000)))
        target_cfg = work / "target.json"
        target_cfg.write_text(
            json.dumps({"destination_path": str(out_direct), "do_timestamp_file": False})
        )
        direct_argv = [
            "bash",
            "-c",
            'set -o pipefail; "$0" --config "$1" | "$2" --config "$3" >/dev/null',
            str(TAP),
            str(tap_cfg),
            str(TARGET),
            str(target_cfg),
        ]
        # Warm-up (untimed): creates the private system DB, fills meltano's catalog cache.
        warm = run_measured("meltano", meltano_argv, env=env, cwd=str(ROOT))
        if warm.returncode != 0:
            return {"skipped": f"meltano run failed: {warm.stderr_tail[-600:]}"}
        run_measured("direct", direct_argv, cwd=str(ROOT))
        walls: dict[str, list[float]] = {"meltano": [], "direct": []}
        for rep in range(reps):
            for name, argv, extra in (
                ("meltano", meltano_argv, env),
                ("direct", direct_argv, None),
            ):
                run = run_measured(name, argv, env=extra, cwd=str(ROOT))
                if run.returncode != 0:
                    return {"skipped": f"{name} failed: {run.stderr_tail[-600:]}"}
                walls[name].append(round(run.wall_s, 3))
                log(f"  meltano rep {rep + 1}/{reps} {name}: {run.wall_s:.2f}s")
        lines = {
            name: sum(len(p.read_text().splitlines()) for p in folder.glob("*.jsonl"))
            for name, folder in (("meltano", out_meltano), ("direct", out_direct))
        }
    melt, direct = median(walls["meltano"]), median(walls["direct"])
    return {
        "users": users,
        "wall_s": walls,
        "median_meltano_s": round(melt, 3),
        "median_direct_s": round(direct, 3),
        "overhead_s": round(melt - direct, 3),
        "overhead_ratio": round(melt / direct, 3),
        "output_lines": lines,
        "meltano_version": os.popen(f"{MELTANO} --version 2>/dev/null").read().strip(),  # noqa: S605
    }
