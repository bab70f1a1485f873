"""bench.deletions_bench counts what the tap README's *Deletions* cost line says, at a small size.

Call and message counts only, no timings: a full sync costs one list call per
1,000 profiles and sends one ACTIVATE_VERSION right after its last record; the
incremental syncs send none, and the hourly one reads the changed profiles in
one call.
"""

from __future__ import annotations

from tests.conftest import run_bench


def test_a_full_sync_costs_a_call_per_thousand_profiles_and_activates_once() -> None:
    proc = run_bench("bench.deletions_bench", "--profiles", "2500", "--changed", "40")
    lines = proc.stdout.splitlines()
    assert lines[0] == "2,500 profiles, pages of 1,000, 40 changed in the hour:"
    full, first, hourly = (line.strip() for line in lines[1:4])
    assert full.startswith("full: 3 calls,")
    assert full.endswith("2,500 records, 1 ACTIVATE_VERSION (after the last record)")
    assert first.startswith("first import: 3 calls,")
    assert first.endswith("2,500 records, 0 ACTIVATE_VERSION")
    assert hourly.startswith("hourly: 1 calls,")
    assert hourly.endswith(" 0 ACTIVATE_VERSION")
