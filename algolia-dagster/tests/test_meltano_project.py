"""meltano.yml -> Dagster jobs and schedules, on small project files written here.

The real meltano.yml, real Meltano and real runs are in tests/e2e/test_dagster_jobs.py.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from algolia_dagster.dagster_jobs import build_jobs_and_schedules
from algolia_dagster.meltano_project import MeltanoProjectError, load_project

ROOT = Path(__file__).resolve().parents[2]

PLUGINS = """
plugins:
  extractors:
  - {name: tap-a}
  - {name: tap-a--two, inherit_from: tap-a}
  loaders:
  - {name: target-b}
  utilities:
  - {name: dbt}
environments:
- {name: dev}
- {name: prod, state_id_suffix: blue}
"""


def project(tmp_path: Path, body: str, **files: str) -> Path:
    (tmp_path / "meltano.yml").write_text(textwrap.dedent(body) + PLUGINS)
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


def test_state_ids_follow_meltanos_rule(tmp_path, monkeypatch):
    monkeypatch.delenv("MELTANO_ENVIRONMENT", raising=False)
    root = project(
        tmp_path,
        """
        default_environment: dev
        jobs:
        - name: one
          tasks:
          - tap-a target-b
          - [tap-a--two, target-b]
          - dbt:run
        """,
    )
    (job,) = load_project(root).jobs
    assert [t.command for t in job.tasks] == ["tap-a target-b", "tap-a--two target-b", "dbt:run"]
    assert [t.state_ids for t in job.tasks] == [
        ("dev:tap-a-to-target-b",),
        ("dev:tap-a--two-to-target-b",),
        (),
    ]
    # MELTANO_ENVIRONMENT wins over default_environment; the suffix is appended.
    monkeypatch.setenv("MELTANO_ENVIRONMENT", "prod")
    (job,) = load_project(root).jobs
    assert job.tasks[0].state_ids == ("prod:tap-a-to-target-b:blue",)

    jobs, _ = build_jobs_and_schedules(load_project(root, "dev"), "meltano")
    ops = {n.definition.tags["meltano/task"]: n for n in jobs[0].nodes}
    assert {task: node.definition.pool for task, node in ops.items()} == {
        "tap-a target-b": "dev:tap-a-to-target-b",
        # An instance with no config of its own reads the same source into the
        # same tables as its parent: one pool (its state ID stays its own).
        "tap-a--two target-b": "dev:tap-a-to-target-b",
        "dbt:run": None,
    }
    # The tasks run in order, each after the previous one.
    after = {
        invocation.name: {d.node for d in inputs.values()}
        for invocation, inputs in jobs[0].dependencies.items()
    }
    first, second, third = (
        ops[t].name for t in ("tap-a target-b", "tap-a--two target-b", "dbt:run")
    )
    assert after == {second: {first}, third: {second}}


def test_presets_cron_strings_and_manual_schedules(tmp_path):
    root = project(
        tmp_path,
        """
        default_environment: dev
        jobs:
        - {name: j1, tasks: [tap-a target-b]}
        - {name: j2, tasks: [tap-a--two target-b]}
        schedules:
        - {name: hourly, interval: '@hourly', job: j1}
        - {name: weekly, interval: '@WEEKLY', job: j1}
        - {name: quarter, interval: '*/15 * * * *', job: j2}
        - {name: by-hand, interval: '@manual', job: j2}
        """,
    )
    _, schedules = build_jobs_and_schedules(load_project(root), "meltano")
    assert {(s.name, s.job_name, s.cron_schedule) for s in schedules} == {
        ("hourly", "j1", "0 * * * *"),
        ("weekly", "j1", "0 0 * * 0"),
        ("quarter", "j2", "*/15 * * * *"),
    }


def test_jobs_and_schedules_of_included_files(tmp_path):
    root = project(
        tmp_path,
        """
        default_environment: dev
        include_paths: ['./extra-*.yml']
        jobs:
        - {name: main-job, tasks: [tap-a target-b]}
        """,
        **{
            "extra-app.yml": """
            jobs:
            - {name: extra-job, tasks: [tap-a--two target-b]}
            schedules:
            - {name: extra-hourly, interval: '@hourly', job: extra-job}
            """
        },
    )
    jobs, schedules = build_jobs_and_schedules(load_project(root), "meltano")
    assert sorted(j.name for j in jobs) == ["extra_job", "main_job"]
    assert [s.name for s in schedules] == ["extra_hourly"]


def test_a_job_added_to_this_projects_meltano_yml_appears(tmp_path):
    # The project's own file plus an included one with a new job and its schedule.
    extra = tmp_path / "extra.yml"
    extra.write_text(
        "jobs:\n- name: import-users-brand-x\n  tasks: [tap-algolia target-postgres]\n"
        "schedules:\n- {name: import-users-brand-x-daily, interval: '@daily', "
        "job: import-users-brand-x}\n"
    )
    main = (ROOT / "meltano.yml").read_text() + "\ninclude_paths: ['./extra.yml']\n"
    (tmp_path / "meltano.yml").write_text(main)
    jobs, schedules = build_jobs_and_schedules(load_project(tmp_path, "dev"), "meltano")
    assert "import_users_brand_x" in {j.name for j in jobs}
    (daily,) = [s for s in schedules if s.name == "import_users_brand_x_daily"]
    assert (daily.job_name, daily.cron_schedule) == ("import_users_brand_x", "0 0 * * *")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "jobs: [{name: j, tasks: [tap-a target-b]}]\nschedules: [{name: s, interval: '@daily', "
            "job: j, env: {X: '1'}}]",
            "sets env",
        ),
        ("schedules: [{name: s, interval: '@daily', extractor: tap-a, loader: target-b}]", "ELT"),
        ("schedules: [{name: s, interval: '@daily', job: nope}]", "unknown job"),
        (
            "jobs: [{name: j, tasks: [tap-a target-b]}]\nschedules: [{name: s, interval: "
            "'every hour', job: j}]",
            "not a five-field cron",
        ),
        ("jobs: [{name: j, tasks: [tap-a target-b tap-a--two target-b]}]", "split it"),
        (
            "jobs: [{name: a-b, tasks: [tap-a target-b]}, {name: a_b, tasks: [tap-a target-b]}]",
            "clash",
        ),
    ],
)
def test_what_cannot_be_exposed_is_refused_with_a_reason(tmp_path, body, message):
    root = project(tmp_path, "default_environment: dev\n" + body + "\n")
    with pytest.raises(MeltanoProjectError, match=message):
        build_jobs_and_schedules(load_project(root), "meltano")


def test_an_unknown_environment_is_refused(tmp_path):
    root = project(tmp_path, "default_environment: staging\n")
    with pytest.raises(MeltanoProjectError, match="'staging' is not declared"):
        load_project(root)
    with pytest.raises(MeltanoProjectError, match=r"no meltano\.yml"):
        load_project(tmp_path / "elsewhere")


def test_project_root_and_meltano_from_the_environment_or_the_checkout(tmp_path, monkeypatch):
    from algolia_dagster import settings

    monkeypatch.delenv("MELTANO_PROJECT_ROOT", raising=False)
    monkeypatch.delenv("MELTANO_BIN", raising=False)
    assert settings.project_root() == ROOT  # the editable checkout
    assert settings.meltano_bin(tmp_path) in (shutil.which("meltano"), "meltano")
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(tmp_path))
    monkeypatch.setenv("MELTANO_BIN", "/opt/meltano/bin/meltano")
    assert settings.project_root() == tmp_path.resolve()
    assert settings.meltano_bin(tmp_path) == "/opt/meltano/bin/meltano"
    # Installed from a wheel: the nearest meltano.yml from the working directory up.
    monkeypatch.delenv("MELTANO_PROJECT_ROOT")
    monkeypatch.setattr(settings, "_CHECKOUT", tmp_path / "site-packages")
    (tmp_path / "meltano.yml").write_text("{}")
    (tmp_path / "orchestrate").mkdir()
    monkeypatch.chdir(tmp_path / "orchestrate")
    assert settings.project_root() == tmp_path


def test_writers_to_one_algolia_application_share_a_pool():
    """In this project's meltano.yml: the exports and the mirror write segments of
    one application (target-algolia's app_id, which the mirror inherits); the
    second application's export has its own; imports keep their state IDs."""
    pools = {j.name: j.tasks[0].pool for j in load_project(ROOT, "prod").jobs if len(j.tasks) == 1}
    writers = {
        name: pool
        for name, pool in pools.items()
        if name.startswith(("export-audiences", "mirror-audiences"))
    }
    assert (
        writers.pop("export-audiences-eu-store") == "prod:algolia-writes:target-algolia--eu-store"
    )
    assert set(writers.values()) == {"prod:algolia-writes:target-algolia"}
    assert {"export-audiences", "export-audiences-postgres"} <= set(writers)
    # The change-data-capture export writes the same application's segments.
    assert pools["export-audience-changes"] == "prod:algolia-writes:target-algolia"
    assert pools["import-users"] == "prod:tap-algolia-to-target-jsonl"
    assert pools["import-users-eu-store"] == "prod:tap-algolia--eu-store-to-target-jsonl"


def test_a_full_sync_instance_takes_turns_with_the_incremental_import_of_its_table():
    """In this project's meltano.yml: tap-algolia--full only changes the catalog
    (FULL_TABLE), so its daily job shares the hourly incremental job's pool; the
    second application's import, with its own credentials, keeps its own."""
    for environment in ("dev", "prod"):
        jobs = {j.name: j.tasks[0] for j in load_project(ROOT, environment).jobs}
        full, hourly = jobs["import-users-postgres-full"], jobs["import-users-postgres"]
        assert full.state_ids == (f"{environment}:tap-algolia--full-to-target-postgres",)
        assert hourly.state_ids == (f"{environment}:tap-algolia-to-target-postgres",)
        assert full.pool == hourly.pool == f"{environment}:tap-algolia-to-target-postgres"
        eu_store = jobs["import-users-eu-store"]
        assert eu_store.pool == f"{environment}:tap-algolia--eu-store-to-target-jsonl"


def test_an_instance_with_config_keeps_its_own_pool(tmp_path):
    (tmp_path / "meltano.yml").write_text(
        textwrap.dedent(
            """
            plugins:
              extractors:
              - {name: tap-x}
              - name: tap-x--full
                inherit_from: tap-x
                metadata: {s: {replication-method: FULL_TABLE}}
              - {name: tap-x--other, inherit_from: tap-x, config: {app_id: OTHER}}
              - {name: tap-x--dev-only, inherit_from: tap-x}
              loaders: [{name: target-y}]
            environments:
            - name: dev
              config:
                plugins:
                  extractors:
                  - {name: tap-x--dev-only, config: {app_id: DEVONLY}}
            jobs:
            - {name: full, tasks: [tap-x--full target-y]}
            - {name: other, tasks: [tap-x--other target-y]}
            - {name: dev-only, tasks: [tap-x--dev-only target-y]}
            """
        )
    )
    pools = {j.name: j.tasks[0].pool for j in load_project(tmp_path, "dev").jobs}
    assert pools == {
        "full": "dev:tap-x-to-target-y",
        "other": "dev:tap-x--other-to-target-y",
        "dev-only": "dev:tap-x--dev-only-to-target-y",
    }


def test_the_daily_full_sync_and_the_hourly_import_are_scheduled():
    """meltano.yml's warehouse schedules: hourly on the hour, the full sync at 02:30."""
    project = load_project(ROOT, "dev")
    schedules = {s.name: s for s in project.schedules}
    hourly = schedules["import-users-postgres-hourly"]
    daily = schedules["import-users-postgres-full-daily"]
    assert (hourly.job, hourly.cron) == ("import-users-postgres", "0 * * * *")
    assert (daily.job, daily.cron) == ("import-users-postgres-full", "30 2 * * *")
    _, dagster_schedules = build_jobs_and_schedules(project, "meltano")
    by_name = {s.name: s for s in dagster_schedules}
    assert by_name["import_users_postgres_full_daily"].cron_schedule == "30 2 * * *"
    assert by_name["import_users_postgres_full_daily"].job_name == "import_users_postgres_full"
    assert by_name["import_users_postgres_hourly"].job_name == "import_users_postgres"


def test_an_instance_with_its_own_app_id_only_in_one_environment(tmp_path):
    (tmp_path / "meltano.yml").write_text(
        textwrap.dedent(
            """
            plugins:
              extractors: [{name: tap-x}]
              loaders:
              - {name: target-algolia, namespace: target_algolia}
              - {name: target-algolia--brand, inherit_from: target-algolia}
            environments:
            - name: dev
            - name: prod
              config:
                plugins:
                  loaders:
                  - {name: target-algolia--brand, config: {app_id: BRANDAPP}}
            jobs:
            - {name: main, tasks: [tap-x target-algolia]}
            - {name: brand, tasks: [tap-x target-algolia--brand]}
            """
        )
    )
    dev = {j.name: j.tasks[0].pool for j in load_project(tmp_path, "dev").jobs}
    prod = {j.name: j.tasks[0].pool for j in load_project(tmp_path, "prod").jobs}
    # dev: the instance uses its parent's application; prod: its own.
    assert dev == {"main": "dev:algolia-writes:target-algolia", "brand": dev["main"]}
    assert prod == {
        "main": "prod:algolia-writes:target-algolia",
        "brand": "prod:algolia-writes:target-algolia--brand",
    }
