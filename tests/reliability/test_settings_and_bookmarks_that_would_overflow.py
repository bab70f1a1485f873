"""Settings and bookmarks that would overflow a number or a date (a year-1 or
year-9999 ``start_date`` or bookmark, huge timeouts, budgets, retries, waits)
fail in one line naming the setting before any API call; a window that would
reach before 1970 is cut at the epoch; the largest allowed ``max_wait_seconds``
waits without a crash. Runs the installed plugins against the emulator.
"""

from __future__ import annotations

import time
import typing as t
from pathlib import Path

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit import target_runs as tk
from algolia_testkit.reliability import ONE_EVENT

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


TAP_OVERFLOWS: dict[str, tuple[dict[str, t.Any], dict[str, t.Any] | None, str]] = {
    # name: (config, state, what the one line names)
    "start_date year 1": ({"start_date": "0001-01-01T00:00:00Z"}, None, "start_date"),
    "start_date a date in year 1": ({"start_date": "0001-01-01"}, None, "start_date"),
    "start_date before 1970": ({"start_date": "1969-12-31T23:59:59Z"}, None, "1970-01-01"),
    "start_date year 9999 behind UTC": (
        {"start_date": "9999-12-31T23:59:59-05:00"},
        None,
        "start_date",
    ),
    "bookmark year 1": ({}, kit.bookmark_state("0001-01-01T00:00:00.000000Z"), "bookmark"),
    "bookmark year 1000": ({}, kit.bookmark_state("1000-01-01T00:00:00Z"), "1970-01-01"),
    "bookmark year 9999 behind UTC": (
        {},
        kit.bookmark_state("9999-12-31T23:59:59-05:00"),
        "bookmark",
    ),
    "overlap_seconds 10**12": ({"overlap_seconds": 10**12}, None, "overlap_seconds"),
    "overlap_seconds 10**30": ({"overlap_seconds": 10**30}, None, "overlap_seconds"),
    "max_requests_per_minute 10**400": (
        {"max_requests_per_minute": 10**400},
        None,
        "max_requests_per_minute",
    ),
    "request_timeout 10**20": ({"request_timeout": 10**20}, None, "request_timeout"),
    "max_retries 10**6": ({"max_retries": 10**6}, None, "max_retries"),
}


@pytest.mark.parametrize("name", list(TAP_OVERFLOWS))
def test_a_tap_setting_or_bookmark_that_would_overflow_is_one_line_before_any_call(
    name: str, make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    overrides, state, named = TAP_OVERFLOWS[name]
    server = make_server(users=3)
    config = {**kit.tap_config(server), **overrides}
    if state is not None:
        # A bookmark in an absurd year, with an overlap that reaches before year 1.
        config["overlap_seconds"] = 300
    run = kit.run_tap(config, tmp_path, state=state)
    line = kit.assert_clean_failure(run.returncode, run.stderr, named)
    assert len(line) < 600, line
    assert server.admin.stats()["byRoute"] == {}


def test_a_tap_window_reaching_before_1970_is_cut_there(
    make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    """start_date 1970-01-01 with 30 days of overlap: the query starts at the epoch."""
    server = make_server(users=4)
    config = {
        **kit.tap_config(server),
        "start_date": "1970-01-01",
        "overlap_seconds": 30 * 24 * 3600,
    }
    run = kit.run_tap(config, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Reading users updated from 1970-01-01T00:00:00Z" in run.stderr
    assert len([m for m in run.messages if m["type"] == "RECORD"]) == 4


TARGET_OVERFLOWS: dict[str, tuple[dict[str, t.Any], str]] = {
    "max_wait_seconds 1e300": ({"max_wait_seconds": 1e300}, "max_wait_seconds"),
    "max_wait_seconds 10**10": ({"max_wait_seconds": 10**10}, "max_wait_seconds"),
    "max_requests_per_minute 10**400": (
        {"max_requests_per_minute": 10**400},
        "max_requests_per_minute",
    ),
    "concurrency 10**6": ({"concurrency": 10**6}, "concurrency"),
    "summary_interval_seconds 10**12": (
        {"summary_interval_seconds": 10**12},
        "summary_interval_seconds",
    ),
    "request_timeout 10**20": ({"request_timeout": 10**20}, "request_timeout"),
    "max_retries 10**6": ({"max_retries": 10**6}, "max_retries"),
}


@pytest.mark.parametrize("name", list(TARGET_OVERFLOWS))
def test_a_target_setting_that_would_overflow_is_one_line_before_any_call(
    name: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    overrides, named = TARGET_OVERFLOWS[name]
    tk.put_user(emu, "u1", [])
    run = kit.run_target({**kit.target_config(emu), **overrides}, ONE_EVENT, tmp_path)
    line = kit.assert_clean_failure(run.returncode, run.stderr, named, "maximum")
    assert len(line) < 600, line
    assert emu.admin.stats()["byRoute"] == {}


def test_a_huge_max_wait_seconds_on_a_quiet_input_no_longer_crashes(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """The largest allowed bound (a day) while the input pauses: the record waits, no crash."""
    tk.put_user(emu, "u1", [])
    config = {**kit.target_config(emu), "max_wait_seconds": 86_400}
    with tk.spawn_cli(config, tmp_path, config_name="target-config.json") as proc:
        assert proc.stdin is not None
        proc.stdin.write(tk.to_lines(ONE_EVENT))
        proc.stdin.flush()
        time.sleep(1.5)  # the input pauses with a record pending
        assert proc.poll() is None
        out, err = proc.communicate("", timeout=30)
    kit.capture(out, err)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    assert tk.segments_of(emu, "u1") == [("vip", "meltano")]
