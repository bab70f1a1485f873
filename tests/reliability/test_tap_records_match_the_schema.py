"""Every RECORD the tap emits fits the SCHEMA the same run emitted, with any
flattening setting: no key of a record is missing from the SCHEMA and the score
maps are never silently dropped. Runs the tap's CLI against the emulator.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit import tap_runs

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


FLATTENING = [
    {},
    {"flattening_enabled": False, "flattening_max_depth": 3},
    {"flattening_enabled": True, "flattening_max_depth": 0},
    {"flattening_enabled": True, "flattening_max_depth": 1},
    {"flattening_enabled": True, "flattening_max_depth": 2},
    {"flattening_enabled": True, "flattening_max_depth": 3},
    {"flattening_enabled": True, "flattening_max_depth": 10, "flattening_separator": "."},
]


@pytest.mark.parametrize("flattening", FLATTENING, ids=lambda f: str(sorted(f.items())))
def test_records_match_the_emitted_schema_with_any_flattening(
    flattening: dict[str, t.Any], emu: EmulatorServer, tmp_path: Path
) -> None:
    # Affinities and segments with every kind of value the schema allows.
    for number in range(4):
        profile = tap_runs.good_profile(f"user-{number}")
        profile["affinities"].append(
            {"name": "color", "value": "red", "score": 2.5 * number, "indices": []}
        )
        profile["affinities"].append({"name": "size", "value": "XL"})  # no score
        emu.admin.upsert_user(profile)
    emu.admin.upsert_user({**tap_runs.good_profile("bare"), "affinities": [], "segments": []})
    run = kit.run_tap(kit.tap_config(emu, **flattening), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert tap_runs.assert_records_match_schema(run.messages) == 5
    schema = tap_runs.schema_of(run.messages)["properties"]
    for record in kit.tap_records(run):
        # Nothing a record carries is missing from the SCHEMA, and the score
        # maps are still there in some form (not silently dropped).
        assert set(record) <= set(schema), set(record) - set(schema)
        assert any(key.startswith("algolia_affinities_name_score") for key in record)
