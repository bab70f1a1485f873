"""The Meltano jobs under Dagster (algolia-dagster), against the emulator.

- the code location loads the way `dagster dev` loads it, and its jobs,
  ops and schedules are the ones meltano.yml declares (read here from the file,
  cron strings checked against Meltano's own reading of it)
- the import job executed in-process: the records, the state Meltano stored,
  Meltano's output in the run's log
- a failing `meltano run` fails the Dagster run, with its output in the log and
  no credential anywhere in Dagster's records
- two applications' jobs at the same time: they overlap, and each keeps its
  own state
- two runs of one state ID queued together (`dagster job launch`, then the
  daemon): the run-granularity pools of the shipped dagster.yaml make the
  daemon start the second only after the first has finished
- two writers to one Algolia application queued together: they take turns,
  and neither undoes the other's segments
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from algolia_dagster.dagster_jobs import build_definitions
from algolia_dagster.meltano_project import load_project

from .conftest import _SCRUB, MELTANO, ROOT
from .test_meltano_pipelines import AUDIENCE_TABLE, insert_events

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CODE_LOCATION = ROOT / "algolia-dagster"
MAIN_STATE_ID = "dev:tap-algolia-to-target-jsonl"
EU_STATE_ID = "dev:tap-algolia--eu-store-to-target-jsonl"


def dagster_name(meltano_name: str) -> str:
    return meltano_name.replace("-", "_")


@pytest.fixture
def meltano_env(meltano, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The Dagster process's environment: what the `meltano` fixture's runs see."""
    for name in list(os.environ):
        if _SCRUB.match(name):
            monkeypatch.delenv(name)
    for name, value in meltano.base_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(ROOT))
    monkeypatch.setenv("MELTANO_BIN", str(MELTANO))
    out = tmp_path / "jsonl"
    monkeypatch.setenv("TARGET_JSONL_DESTINATION_PATH", str(out))
    return out


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME holding the code location's dagster.yaml, as docs/dagster.md sets up."""
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(CODE_LOCATION / "dagster.yaml", home / "dagster.yaml")
    return home


@pytest.fixture
def instance(dagster_home: Path) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.from_config(str(dagster_home)) as inst:
        yield inst


@pytest.fixture
def defs(meltano_env: Path) -> dg.Definitions:
    return build_definitions(load_project(ROOT), str(MELTANO))


def execute(defs: dg.Definitions, job: str, instance: dg.DagsterInstance) -> Any:
    return defs.get_job_def(job).execute_in_process(instance=instance, raise_on_error=False)


def log_lines(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [e.user_message for e in instance.all_logs(run_id) if e.dagster_event is None]


def step_window(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    """When the run's (only) step started and finished executing."""
    times = {
        e.dagster_event.event_type_value: e.timestamp
        for e in instance.all_logs(run_id)
        if e.dagster_event is not None
    }
    return times["STEP_START"], times["STEP_SUCCESS"]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def bookmark(meltano, state_id: str) -> datetime:
    state = meltano.state(state_id)
    return instant(state["singer_state"]["bookmarks"]["users"]["replication_key_value"])


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


# --------------------------------------------------------------------------- #
def test_code_location_loads_like_dagster_dev(meltano_env, dagster_home: Path):
    """`dagster definitions validate` in algolia-dagster/ finds the module
    through pyproject.toml's [tool.dagster], as `dagster dev` there does, with
    the shipped dagster.yaml as the instance's configuration."""
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate"],
        cwd=CODE_LOCATION,
        env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "algolia-meltano" in out.stdout + out.stderr


def test_jobs_and_schedules_match_meltano_yml(defs, meltano):
    declared = yaml.safe_load((ROOT / "meltano.yml").read_text())

    jobs = {j.name: j for j in defs.resolve_all_job_defs()}
    assert set(jobs) == {dagster_name(j["name"]) for j in declared["jobs"]}
    for job in declared["jobs"]:
        tasks = [t if isinstance(t, str) else " ".join(t) for t in job["tasks"]]
        dagster_job = jobs[dagster_name(job["name"])]
        assert [n.definition.tags["meltano/task"] for n in dagster_job.nodes] == tasks
        assert dagster_job.tags["meltano/job"] == job["name"]

    # Meltano's own reading of each interval (presets such as @hourly resolved).
    listed = json.loads(meltano("schedule", "list", "--format=json").stdout)
    cron_of = {s["name"]: s["cron_interval"] for s in listed["schedules"]["job"]}
    schedules = {s.name: s for s in defs.schedules}
    expected = {
        dagster_name(s["name"]): s for s in declared["schedules"] if cron_of[s["name"]] is not None
    }
    assert set(schedules) == set(expected)
    assert len(expected) >= 3  # import, export, second application at least
    for name, declared_schedule in expected.items():
        schedule = schedules[name]
        assert schedule.job_name == dagster_name(declared_schedule["job"])
        assert schedule.cron_schedule == cron_of[declared_schedule["name"]]
        assert schedule.execution_timezone == "UTC"
    # The hourly import and the second application's schedule are there.
    assert {"import-users", "import-users-eu-store"} <= {
        s["job"] for s in declared["schedules"] if cron_of[s["name"]] == "0 * * * *"
    }


def test_import_job_in_process(defs, instance, meltano, meltano_env, emulator_factory, monkeypatch):
    emulator = emulator_factory(users=120, seed=7)
    monkeypatch.setenv("TAP_ALGOLIA_API_URL", emulator.url)

    started = datetime.now(timezone.utc)
    result = execute(defs, "import_users", instance)
    finished = datetime.now(timezone.utc)
    assert result.success

    got = rows(meltano_env / "users.jsonl")
    assert sorted(r["userID"] for r in got) == sorted(emulator.emulator.store.all_user_ids())
    assert len(got) == 120

    # The op's concurrency pool is the state ID Meltano actually stored.
    (node,) = defs.get_job_def("import_users").nodes
    assert node.definition.pool == MAIN_STATE_ID
    assert meltano("state", "list").stdout.split() == [MAIN_STATE_ID]
    assert started - timedelta(seconds=2) <= bookmark(meltano, MAIN_STATE_ID) <= finished

    # Meltano's own output is in the run's event log.
    lines = log_lines(instance, result.run_id)
    assert any("Beginning sync of 'users'" in line for line in lines)
    assert any("Incremental state has been updated" in line for line in lines)


def test_failed_meltano_run_fails_the_dagster_run(
    defs, instance, meltano, meltano_env, emulator_factory, monkeypatch
):
    emulator = emulator_factory(users=10, seed=3)
    secret = "wrong-key-5f0c2e9a"
    monkeypatch.setenv("TAP_ALGOLIA_API_URL", emulator.url)
    monkeypatch.setenv("TAP_ALGOLIA_API_KEY", secret)  # not a key the emulator knows: 403

    result = execute(defs, "import_users", instance)

    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures
    assert "meltano run tap-algolia target-jsonl" in failures[0].step_failure_data.error.message
    lines = log_lines(instance, result.run_id)
    # The plugin's own error, relayed by Meltano, and the exit code.
    assert any("403" in line or "API key" in line for line in lines), lines[-20:]
    assert any("exited with code" in line for line in lines)
    assert meltano("state", "list").stdout.split() == []
    # The credential is nowhere in what Dagster recorded about the run.
    records = [
        e.to_json() if hasattr(e, "to_json") else repr(e) for e in instance.all_logs(result.run_id)
    ]
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    assert secret not in "\n".join(records) + repr(run.run_config) + repr(run.tags)


def run_concurrently(
    jobs: list[str], dagster_home: Path, instance: dg.DagsterInstance
) -> list[Any]:
    """Each job in its own `dagster job execute` process on the same instance,
    as separate workers would run them; returns their run records."""
    # Meltano migrates a new system database on first use, and two processes
    # doing that at once collide: deployments run one meltano command first
    # (docs/dagster.md), and so does this.
    subprocess.run([str(MELTANO), "state", "list"], cwd=ROOT, capture_output=True, check=True)
    dagster = Path(sys.executable).parent / "dagster"
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    before = {r.run_id for r in instance.get_runs()}
    procs = [
        subprocess.Popen(
            [str(dagster), "job", "execute", "-m", "algolia_dagster.definitions", "-j", job],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for job in jobs
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    runs = [r for r in instance.get_runs() if r.run_id not in before]
    assert len(runs) == len(jobs), "\n".join(o[-3000:] for o in outputs)
    return sorted(runs, key=lambda r: jobs.index(r.job_name))


def succeeded(run: Any) -> bool:
    return run.status == dg.DagsterRunStatus.SUCCESS


def test_two_applications_run_side_by_side_with_their_own_state(
    dagster_home, instance, meltano, meltano_env, emulator_factory, monkeypatch
):
    # A little latency per call, so that each run lasts long enough to overlap.
    main_app = emulator_factory(users=40, seed=1, latency_ms=300)
    eu_store = emulator_factory(users=60, seed=2, latency_ms=300)
    monkeypatch.setenv("TAP_ALGOLIA_API_URL", main_app.url)
    monkeypatch.setenv("TAP_ALGOLIA__EU_STORE_API_URL", eu_store.url)
    monkeypatch.setenv("TAP_ALGOLIA_PAGE_SIZE", "10")
    monkeypatch.setenv("TAP_ALGOLIA__EU_STORE_PAGE_SIZE", "10")
    out = meltano_env / "users.jsonl"  # target-jsonl appends one line per record

    main_run, eu_run = run_concurrently(
        ["import_users", "import_users_eu_store"], dagster_home, instance
    )
    assert succeeded(main_run)
    assert succeeded(eu_run)
    (main_start, main_end), (eu_start, eu_end) = (
        step_window(instance, main_run.run_id),
        step_window(instance, eu_run.run_id),
    )
    assert main_start < eu_end, "the two applications did not overlap"
    assert eu_start < main_end, "the two applications did not overlap"

    def profiles(server: Any) -> Counter[tuple[str, datetime]]:
        return Counter(
            (uid, instant(server.admin.get_user(uid)["lastUpdatedAt"]))
            for uid in server.emulator.store.all_user_ids()
        )

    assert Counter((r["userID"], instant(r["lastUpdatedAt"])) for r in rows(out)) == profiles(
        main_app
    ) + profiles(eu_store)
    assert set(meltano("state", "list").stdout.split()) == {MAIN_STATE_ID, EU_STATE_ID}
    main_bookmark = bookmark(meltano, MAIN_STATE_ID)

    # One profile changes in the EU application only; both run again at once.
    time.sleep(1.1)
    changed = sorted(eu_store.emulator.store.all_user_ids())[3]
    eu_store.admin.touch(changed)
    before = len(rows(out))
    main_run, eu_run = run_concurrently(
        ["import_users", "import_users_eu_store"], dagster_home, instance
    )
    assert succeeded(main_run)
    assert succeeded(eu_run)
    # Each read from its own bookmark: the main application brings nothing new,
    # the EU one exactly the changed profile.
    assert [r["userID"] for r in rows(out)[before:]] == [changed]
    assert bookmark(meltano, MAIN_STATE_ID) > main_bookmark
    assert bookmark(meltano, EU_STATE_ID) > main_bookmark


def run_through_queue(
    jobs: list[str], dagster_home: Path, instance: dg.DagsterInstance, tmp_path: Path
) -> list[Any]:
    """The way a deployment runs jobs: each job submitted with `dagster job
    launch` into the instance's run queue, then `dagster-daemon run` dequeues
    and launches them; returns their run records once all have finished.

    Every run is queued before the daemon starts, so its first dequeue pass
    sees them all at once: the hardest case for the pools. The daemon is
    stopped afterwards whatever happens."""
    subprocess.run([str(MELTANO), "state", "list"], cwd=ROOT, capture_output=True, check=True)
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "python_module": {
                            "module_name": "algolia_dagster.definitions",
                            "working_directory": str(ROOT),
                            "location_name": "algolia-meltano",
                        }
                    }
                ]
            }
        )
    )
    bindir = Path(sys.executable).parent
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}

    def check_call(*args: str) -> None:
        out = subprocess.run(
            args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert out.returncode == 0, " ".join(args) + "\n" + (out.stdout + out.stderr)[-3000:]

    # The deployment step docs/dagster.md prescribes before the daemon runs.
    check_call(str(sys.executable), "-m", "algolia_dagster.pools")
    before = {r.run_id for r in instance.get_runs()}
    for job in jobs:
        check_call(str(bindir / "dagster"), "job", "launch", "-w", str(workspace), "-j", job)
    queued = [r for r in instance.get_runs() if r.run_id not in before]
    assert len(queued) == len(jobs)
    assert all(r.status == dg.DagsterRunStatus.QUEUED for r in queued)

    log = tmp_path / "daemon.log"
    with log.open("w") as sink:
        daemon = subprocess.Popen(
            [str(bindir / "dagster-daemon"), "run", "-w", str(workspace)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            runs = [instance.get_run_by_id(r.run_id) for r in queued]
            if all(r is not None and r.is_finished for r in runs):
                break
            assert daemon.poll() is None, "the daemon exited:\n" + log.read_text()[-3000:]
            time.sleep(1)
        else:
            pytest.fail("runs did not finish in 600 s:\n" + log.read_text()[-3000:])
    finally:
        daemon.send_signal(signal.SIGINT)  # the daemon's own clean shutdown
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
    return sorted((r for r in runs if r is not None), key=lambda r: jobs.index(r.job_name))


def test_runs_of_one_state_id_never_overlap(
    dagster_home, instance, meltano, meltano_env, emulator_factory, monkeypatch, tmp_path
):
    emulator = emulator_factory(users=30, seed=5, latency_ms=300)
    monkeypatch.setenv("TAP_ALGOLIA_API_URL", emulator.url)
    monkeypatch.setenv("TAP_ALGOLIA_PAGE_SIZE", "10")

    first, second = run_through_queue(
        ["import_users", "import_users"], dagster_home, instance, tmp_path
    )
    # Both succeed: the queue held the second back until the first had finished,
    # instead of starting it beside it (Meltano would refuse a second run of a
    # running state ID).
    assert succeeded(first)
    assert succeeded(second)
    a, b = sorted([step_window(instance, first.run_id), step_window(instance, second.run_id)])
    assert a[1] <= b[0], f"steps overlapped: {a} and {b}"


def test_writers_to_one_application_take_turns_and_lose_nothing(
    dagster_home, instance, meltano, meltano_env, postgres, emulator_factory, monkeypatch, tmp_path
):
    """The file export and the PostgreSQL export both write target-algolia's
    application: launched together, they run one after the other, and every
    profile ends with the segments of both."""
    emulator = emulator_factory(users=60, seed=11, latency_ms=200)
    users = sorted(u for u in emulator.emulator.store.all_user_ids() if u.startswith("user-"))[:20]
    events = tmp_path / "events.jsonl"
    events.write_text(
        "".join(
            json.dumps({"algolia_user_id": u, "segment": "from_file", "event": "enter"}) + "\n"
            for u in users
        )
    )
    postgres.sql(AUDIENCE_TABLE)
    insert_events(postgres, [(u, "from_table", "enter") for u in users])
    monkeypatch.setenv("TARGET_ALGOLIA_API_URL", emulator.url)
    monkeypatch.setenv("TAP_AUDIENCE_EVENTS_PATH", str(events))
    for name, value in postgres.env("TAP_POSTGRES").items():
        monkeypatch.setenv(name, value)

    file_run, table_run = run_through_queue(
        ["export_audiences", "export_audiences_postgres"], dagster_home, instance, tmp_path
    )
    assert succeeded(file_run)
    assert succeeded(table_run)
    a, b = sorted([step_window(instance, file_run.run_id), step_window(instance, table_run.run_id)])
    assert a[1] <= b[0], f"two writers to one application overlapped: {a} and {b}"
    for uid in users:
        ours = {
            s["id"]
            for s in emulator.admin.get_user(uid).get("segments") or []
            if s["source"] == "meltano"
        }
        assert {"from_file", "from_table"} <= ours, uid
