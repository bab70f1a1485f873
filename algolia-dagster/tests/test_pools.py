"""python -m algolia_dagster.pools: the code location's pools exist on the
instance before the daemon's queue meets them, without touching existing ones.

The daemon itself taking turns on these pools is tested end to end in
tests/e2e/test_dagster_jobs.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from algolia_dagster.meltano_project import load_project
from algolia_dagster.pools import create_missing_pools, main, project_pools

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "algolia-dagster" / "dagster.yaml"


def limits(instance: dg.DagsterInstance) -> dict[str, int]:
    return {p.name: p.limit for p in instance.event_log_storage.get_pool_limits()}


def test_creates_missing_pools_and_keeps_a_limit_set_by_hand(tmp_path: Path):
    shutil.copy(SHIPPED, tmp_path / "dagster.yaml")
    pools = project_pools(load_project(ROOT, "dev"))
    assert "dev:tap-algolia-to-target-jsonl" in pools
    assert "dev:algolia-writes:target-algolia" in pools
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots("dev:tap-algolia-to-target-jsonl", 3)

        created = create_missing_pools(instance, pools)

        assert created == [p for p in pools if p != "dev:tap-algolia-to-target-jsonl"]
        assert limits(instance) == {
            **dict.fromkeys(created, 1),
            "dev:tap-algolia-to-target-jsonl": 3,
        }
        assert create_missing_pools(instance, pools) == []


def test_refuses_an_instance_without_a_default_limit(tmp_path, monkeypatch, capsys):
    (tmp_path / "dagster.yaml").write_text("{}\n")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(ROOT))

    assert main([]) == 1
    err = capsys.readouterr().err
    assert "default_limit" in err
    assert "dagster.yaml" in err
    assert len(err.strip().splitlines()) == 1
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert limits(instance) == {}


def test_takes_no_arguments(capsys):
    assert main(["extra"]) == 2
    assert "usage" in capsys.readouterr().err
