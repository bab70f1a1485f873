"""The frequent-schedule alternative to a long-running pipeline, measured.

``python -m bench.schedule_latency [--interval 60] [--ticks 4] [--events 12] [--idle-reps 3]``

A real PostgreSQL table of audience events (tap-postgres, INCREMENTAL on
``event_id``: the change-data-capture-like case) exported by ``meltano run
export-audiences-postgres`` (tap-postgres -> target-algolia) against the
emulator, the way cron would run it every ``--interval`` seconds:

1. Start-up cost per run: ``meltano run`` with no new rows (the price every
   tick pays), next to the same two plugins piped by hand with the same
   config, catalog and state (``meltano invoke --dump=...``), whose difference
   is Meltano's own share.
2. End-to-end latency: ``--events`` rows inserted at random times over
   ``--ticks`` schedule periods while the runs start at each tick; for each
   row, the time from its INSERT returning to the emulator receiving the PUT
   of its user (one user per row; the emulator stamps ``lastUpdatedAt`` then).

Needs scripts/setup-meltano.sh and PostgreSQL server binaries (as the e2e
tests). Prints one JSON document; docs/meltano.md quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from algolia_testkit.postgres import PostgresServer, find_pg_bindir
from bench.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
PLUGINS = ROOT / ".meltano"
TAP = PLUGINS / "extractors" / "tap-postgres" / "venv" / "bin" / "tap-postgres"
TARGET = PLUGINS / "loaders" / "target-algolia" / "venv" / "bin" / "target-algolia"
JOB = "export-audiences-postgres"
STATE_ID = "dev:tap-postgres-to-target-algolia"
TABLE = """
CREATE TABLE public.audience_events (
    event_id        bigserial PRIMARY KEY,
    algolia_user_id text,
    segment         text NOT NULL,
    event           text NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now()
);
"""


def _e2e_postgres() -> PostgresServer:
    """The e2e tests' throwaway PostgreSQL server (algolia_testkit.postgres, not a copy)."""
    bindir = find_pg_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
    psql = str(bindir / "psql") if (bindir / "psql").exists() else shutil.which("psql")
    if psql is None:
        raise SystemExit("psql not found (apt-get install postgresql-client)")
    return PostgresServer(bindir=bindir, psql=psql).start()


def _user(n: int) -> str:
    return f"sched-{n:04d}"


def _put_received_at(emu: Emulator, user_id: str) -> float | None:
    user = emu.admin.get_user(user_id)
    if not user or not user.get("segments"):
        return None
    return datetime.fromisoformat(user["lastUpdatedAt"].replace("Z", "+00:00")).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.schedule_latency")
    parser.add_argument("--interval", type=float, default=60.0, help="schedule period (s)")
    parser.add_argument("--ticks", type=int, default=4, help="scheduled runs measured")
    parser.add_argument("--events", type=int, default=12, help="rows inserted over the ticks")
    parser.add_argument("--idle-reps", type=int, default=3, help="runs with no new rows")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    for path in (MELTANO, TAP, TARGET):
        if not path.exists():
            raise SystemExit(f"{path} missing: run scripts/setup-meltano.sh")

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-schedule-"))
    postgres = _e2e_postgres()
    try:
        with Emulator(0) as emu:
            for n in range(args.events + 1):
                emu.admin.upsert_user(
                    {"userID": _user(n), "lastUpdatedAt": "2026-10-01T00:00:00Z", "segments": []}
                )
            postgres.sql(TABLE)
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")},
                **postgres.env("TAP_POSTGRES"),
                "MELTANO_ENVIRONMENT": "dev",
                "MELTANO_DATABASE_URI": f"sqlite:///{work / 'meltano.db'}",
                "MELTANO_STATE_BACKEND_URI": f"file://{work / 'state'}",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
                "TARGET_ALGOLIA_API_URL": emu.url,
                "TARGET_ALGOLIA_SUMMARY_INTERVAL_SECONDS": "0",
            }

            def meltano(*argv: str) -> tuple[float, subprocess.CompletedProcess[str]]:
                started = time.monotonic()
                done = subprocess.run(
                    [str(MELTANO), "--log-level=warning", *argv],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    raise SystemExit(f"meltano {' '.join(argv)} failed:\n{done.stderr[-2000:]}")
                return time.monotonic() - started, done

            def insert(n: int) -> float:
                # The values are this script's own (no outside input).
                values = f"('{_user(n)}', 'rt_sched', 'enter')"
                sql = "INSERT INTO public.audience_events (algolia_user_id, segment, event) VALUES "
                postgres.sql(sql + values)
                return time.time()

            # Warm-up: one row, one run (system DB, catalog cache, first bookmark).
            insert(args.events)
            meltano("run", "--no-install", JOB)

            # 1. What every tick costs when there is nothing to move: meltano run
            # and the two plugins piped by hand, alternating (a busy machine
            # slows both alike).
            dumps = {}
            for plugin, what in (("tap-postgres", "config"), ("tap-postgres", "catalog")):
                dumps[what] = meltano("invoke", f"--dump={what}", plugin)[1].stdout
            dumps["target"] = meltano("invoke", "--dump=config", "target-algolia")[1].stdout
            dumps["state"] = json.dumps(
                json.loads(meltano("state", "get", STATE_ID)[1].stdout.strip().splitlines()[-1])
            )
            files = {}
            for name, text in dumps.items():
                files[name] = work / f"{name}.json"
                files[name].write_text(text)
            pipe = (
                f'set -o pipefail; "{TAP}" --config "{files["config"]}" '
                f'--catalog "{files["catalog"]}" --state "{files["state"]}" '
                f'| "{TARGET}" --config "{files["target"]}" >/dev/null'
            )
            idle_meltano: list[float] = []
            idle_direct: list[float] = []
            for _ in range(args.idle_reps):
                idle_meltano.append(meltano("run", "--no-install", JOB)[0])
                started = time.monotonic()
                subprocess.run(["bash", "-c", pipe], check=True, capture_output=True, env=env)
                idle_direct.append(time.monotonic() - started)

            # 2. Rows arriving at random times, runs at every tick.
            start = time.time()
            ticks = [start + args.interval * (k + 1) for k in range(args.ticks)]
            last_tick = ticks[-1]
            moments = sorted(rng.uniform(start, last_tick - 1.0) for _ in range(args.events))
            inserted: dict[int, float] = {}

            def inserter() -> None:
                for n, moment in enumerate(moments):
                    time.sleep(max(0.0, moment - time.time()))
                    inserted[n] = insert(n)

            thread = threading.Thread(target=inserter)
            thread.start()
            runs = []
            for tick in ticks:
                time.sleep(max(0.0, tick - time.time()))
                runs.append(meltano("run", "--no-install", JOB)[0])
            thread.join()
            latencies = []
            for n, at in inserted.items():
                received = _put_received_at(emu, _user(n))
                if received is None:
                    raise SystemExit(f"row {n} never reached the emulator")
                latencies.append(received - at)
    finally:
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(
        json.dumps(
            {
                "interval_s": args.interval,
                "load_average_at_end": os.getloadavg(),
                "idle_run_meltano_s": [round(v, 2) for v in idle_meltano],
                "idle_run_plugins_piped_by_hand_s": [round(v, 2) for v in idle_direct],
                "meltano_share_s": round(
                    statistics.median(idle_meltano) - statistics.median(idle_direct), 2
                ),
                "scheduled_runs_s": [round(v, 2) for v in runs],
                "events": len(latencies),
                "latency_p50_s": round(statistics.median(latencies), 1),
                "latency_max_s": round(max(latencies), 1),
                "latencies_s": sorted(round(v, 1) for v in latencies),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
