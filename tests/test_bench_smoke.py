"""The benchmark suite still works: ``python -m bench --smoke`` end to end, no timings asserted.

Smoke mode uses tiny user counts and one repetition, and skips tap-rest-api-msdk,
Meltano, profiling and the chart, so it needs nothing beyond the shared .venv.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import run_bench

# Every test here reads the one benchmark run of the module fixture: on one
# xdist worker, so the benchmark runs once, not once per worker.
pytestmark = pytest.mark.xdist_group("bench-smoke")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench-smoke")
    run_bench("bench", "--smoke", "--out", str(out))
    results = json.loads((out / "benchmarks.json").read_text())
    return results, (out / "benchmarks.md").read_text()


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def test_machine_and_mode(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    assert results["mode"] == "smoke"
    assert results["reps"] == 1
    machine = results["machine"]
    assert machine["cpu_model"]
    assert machine["cores"] >= 1
    assert machine["python"].count(".") == 2
    assert machine["date"]


def test_floor_prints_the_taps_records(smoke: tuple[dict[str, Any], str]) -> None:
    check = smoke[0]["floor_check"]
    assert check["tap_records"] == check["users"]
    assert check["identical"], check


def test_tap_throughput_is_well_formed(smoke: tuple[dict[str, Any], str]) -> None:
    throughput = smoke[0]["tap_throughput"]
    assert set(throughput) == {"300"}
    block = throughput["300"]
    assert {"tap", "floor"} <= set(block["contenders"])
    for name, contender in block["contenders"].items():
        assert block["records"][name] == 300, name
        assert len(contender["wall_s"]) == 1
        assert _positive(contender["median_wall_s"])
        assert _positive(contender["records_per_s"])
        assert _positive(contender["median_max_rss_mb"])
        assert contender["emulator_cpu_share"] >= 0
    assert _positive(block["tap_time_over_floor"])


def test_tap_memory_is_well_formed(smoke: tuple[dict[str, Any], str]) -> None:
    memory = smoke[0]["tap_memory"]
    assert [p["users"] for p in memory["points"]] == [200, 600]
    assert all(_positive(p["median_max_rss_mb"]) for p in memory["points"])
    assert _positive(memory["ratio"])


def test_target_api_use_is_well_formed(smoke: tuple[dict[str, Any], str]) -> None:
    target = smoke[0]["target"]
    calls = target["calls_per_user"]
    for label in ("changed", "unchanged"):
        assert calls[label]["users"] == 10
        assert _positive(calls[label]["calls_per_user"])
        assert calls[label]["gets"] >= 10
    budget = target["budget"]
    assert budget["windows"] >= 2
    assert 0 < budget["budget_use"] <= 1.5
    assert isinstance(budget["rate_limited"], int)
    speed = target["speedup"]
    assert len(speed["wall_s"]["serial"]) == len(speed["wall_s"]["concurrent"]) == 1
    assert _positive(speed["speedup_wall"])


def test_report_is_written(smoke: tuple[dict[str, Any], str]) -> None:
    results, markdown = smoke
    names = {v["name"] for v in results["verdicts"]}
    assert "calls per changed user" in names
    assert "share of request budget used" in names
    assert all({"name", "target", "value", "holds"} <= set(v) for v in results["verdicts"])
    for heading in ("# Benchmarks", "## Targets", "## Tap throughput", "## Target API use"):
        assert heading in markdown


def test_mirror_figures_are_well_formed(smoke: tuple[dict[str, Any], str]) -> None:
    results, text = smoke
    mirror = results["mirror"]
    hourly = mirror["hourly"]
    # Mirror mode: one scan, then a GET and a PUT for each of the 6 changed users.
    assert hourly["mirror"]["calls"]["get"] == hourly["joined"] + hourly["left"]
    assert hourly["mirror"]["calls"]["put"] == hourly["joined"] + hourly["left"]
    # Per user: a GET for every member, a PUT only for the joiners (leavers stay).
    members = hourly["audience"]
    assert hourly["per_user_today"]["calls"]["get"] == members
    assert hourly["per_user_today"]["calls"]["put"] == hourly["joined"]
    fill = mirror["backfill"]
    assert fill["list_scan"]["calls"]["put"] == fill["entering"]
    assert fill["list_scan"]["calls"]["get"] == 0
    assert fill["list_scan_reread"]["calls"]["get"] == fill["entering"]
    assert _positive(mirror["memory"]["mirror"]["max_rss_mb"])
    assert "## Audience scale: list scan and mirror mode" in text
