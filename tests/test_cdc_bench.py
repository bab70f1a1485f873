"""bench.cdc_bench counts what the CDC table of docs/target/cdc.md says, at a small size.

Call counts only, no timings: a LOG_BASED stream of inserts and deletes costs a
GET and a PUT per change and no list call; the same churn as a mirror run adds
one list call per 1,000 profiles.
"""

from __future__ import annotations

from tests.conftest import run_bench


def test_cdc_costs_two_calls_per_change_and_mirror_adds_the_list_pages() -> None:
    proc = run_bench(
        "bench.cdc_bench", *("--profiles", "3000", "--audience", "600"), *("--changes", "60")
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "60 changes on 3,000 profiles (audience of 600):"
    assert lines[1].split() == [
        *["CDC", "(LOG_BASED", "rows):", "120", "calls", "(list", "0,", "GET", "60,"],
        *["PUT", "60;", "2.0", "per", "changed", "user)"],
    ]
    assert lines[2].split()[3:10] == ["123", "calls", "(list", "3,", "GET", "60,", "PUT"]
    assert "30 removed" in lines[2]
