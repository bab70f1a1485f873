"""A profile nested deeper than can be decoded costs that profile, never its page.

JSON decoders stop near 1,000 levels of nesting (a RecursionError). One such
profile used to end the tap's sync with a traceback, losing the good profiles
on its page, every run. Each case serves, over real HTTP from the emulator,
a page or profile holding one profile whose affinity value is nested 3,000
deep, and runs the plugin's CLI:

* the tap skips that profile, names it and counts it, and emits the others;
* the target (list scan, mirror scan, per-user read) needs only the userID
  and segments, which are read in full: the profile is written like any other.
"""

from __future__ import annotations

import json
import typing as t

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit import tap_runs
from algolia_testkit import target_runs as tk

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

DEPTH = 3000
M = "meltano"
OTHERS = [("vip", "crm"), ("old", M)]


def _deep_profile(user_id: str, segments: list[tuple[str, str]]) -> bytes:
    """A profile whose one affinity value is a list nested DEPTH deep."""
    profile = {
        "userID": user_id,
        "lastUpdatedAt": tk.STAMP,
        "segments": [{"id": slug, "source": source} for slug, source in segments],
        "affinities": [{"name": "brand", "value": "PLACEHOLDER", "score": 5}],
    }
    return json.dumps(profile).encode().replace(b'"PLACEHOLDER"', b"[" * DEPTH + b"]" * DEPTH)


def test_the_tap_skips_names_and_counts_a_too_deep_profile_and_keeps_its_page(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    emu.admin.upsert_user(tap_runs.good_profile("a-good"))
    emu.admin.upsert_user(tap_runs.good_profile("z-good"))
    tap_runs.serve_as_is(emu, "odd", _deep_profile("odd", [("vip", "crm")]))
    run = kit.run_tap(kit.tap_config(emu), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "RecursionError" not in run.stderr
    ids = [m["record"]["userID"] for m in run.messages if m["type"] == "RECORD"]
    assert ids == ["a-good", "z-good"]
    assert tap_runs.assert_records_match_schema(run.messages) == 2
    (skip,) = tap_runs.log_lines(run.stderr, "Skipped profile")
    assert "userID='odd'" in skip
    assert "affinities is nested too deep to decode" in skip
    assert f"{DEPTH + 3:,} levels deep" in skip  # the profile, its list and the affinity
    (summary,) = tap_runs.log_lines(run.stderr, "Sync summary")
    assert "2 records emitted, 1 profiles skipped" in summary
    assert emu.admin.stats()["total"] == 1  # read once, not retried
    assert kit.tap_bookmarks(run), "a skipped profile must not stop the bookmark"


@pytest.mark.parametrize("read_strategy", ["list_scan", "per_user"])
def test_the_target_writes_a_too_deep_profile_from_its_segments(
    read_strategy: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    tk.put_user(emu, "u1", OTHERS)
    tap_runs.serve_as_is(emu, "deep", _deep_profile("deep", OTHERS))
    config = kit.target_config(emu, read_strategy=read_strategy)
    messages = [tk.schema(), tk.event("deep", "new"), tk.event("u1", "new"), tk.state(1)]
    run = kit.run_target(config, messages, tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert run.states_seen == [{"bookmark": 1}]
    assert tk.segments_of(emu, "deep") == [*OTHERS, ("new", M)]
    assert tk.segments_of(emu, "u1") == [*OTHERS, ("new", M)]
    route = "GET /2/users" if read_strategy == "list_scan" else "GET /2/users/{userID}"
    assert emu.admin.stats()["byRoute"][route] == (1 if read_strategy == "list_scan" else 2)


def test_the_mirror_scan_reads_a_too_deep_profile_and_removes_what_left(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    tk.put_user(emu, "u1", OTHERS)
    tap_runs.serve_as_is(emu, "deep", _deep_profile("deep", OTHERS))
    config = kit.target_config(
        emu,
        mirror_max_removal_fraction=1,
        mirror_streams=[{"stream": "audience", "audiences": ["old", "new"]}],
    )
    messages = [tk.schema(), tk.snapshot("u1", ["new"]), tk.state(1)]
    run = kit.run_target(config, messages, tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    # "deep" is not in the snapshot: it loses the managed "old", keeps "vip".
    assert tk.segments_of(emu, "deep") == [("vip", "crm")]
    assert ("new", M) in tk.segments_of(emu, "u1")
