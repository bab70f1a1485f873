"""The tap under hostile use: catalog replication method, flattening, request
budget, signals and bad state files. Every test runs the tap's CLI against
the emulator over real HTTP.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import time
import typing as t
from pathlib import Path

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit import tap_runs

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


ROOT = Path(__file__).resolve().parents[2]


def _records(run: kit.ProcessRun) -> list[dict[str, t.Any]]:
    return [m["record"] for m in run.messages if m["type"] == "RECORD"]


# Point 4: replication-method FULL_TABLE -------------------------------------------------


def test_full_table_in_the_catalog_reads_every_profile_whatever_the_state(
    make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(users=60, seed=3)
    config = kit.tap_config(server, page_size=20)
    first = kit.run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    bookmark = kit.tap_bookmarks(first)[-1]
    time.sleep(1.1)  # touches land after the bookmark (whole seconds)
    changed = sorted(r["userID"] for r in _records(first))[:10]
    for user_id in changed:
        server.admin.touch(user_id)
    time.sleep(1.1)
    state = kit.bookmark_state(bookmark)

    incremental = kit.run_tap(config, tmp_path, state=state)
    assert incremental.returncode == 0, incremental.stderr[-2000:]
    assert sorted(r["userID"] for r in _records(incremental)) == changed

    catalog = kit.write_catalog(config, tmp_path, replication_method="FULL_TABLE")
    full = kit.run_tap(config, tmp_path, "--catalog", str(catalog), state=state)
    assert full.returncode == 0, full.stderr[-2000:]
    assert len({r["userID"] for r in _records(full)}) == 60
    assert "ignoring the bookmark" in full.stderr
    assert kit.tap_bookmarks(full)[-1] > bookmark


# Point 6: flattening keeps records inside the SCHEMA ----------------------------------

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
    for record in _records(run):
        # Nothing a record carries is missing from the SCHEMA, and the score
        # maps are still there in some form (not silently dropped).
        assert set(record) <= set(schema), set(record) - set(schema)
        assert any(key.startswith("algolia_affinities_name_score") for key in record)


# Point 7: the tap's request budget ---------------------------------------------------


def _request_times(server: EmulatorServer) -> list[float]:
    """When each API call reached the emulator (wraps its per-call fault hook)."""
    times: list[float] = []
    faults = server.emulator.faults
    original = faults.take_drop

    def take_drop(method: str, path: str) -> bool:
        times.append(time.monotonic())
        return bool(original(method, path))

    faults.take_drop = take_drop  # type: ignore[method-assign]
    return times


def test_max_requests_per_minute_spaces_the_taps_calls(
    make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(users=8, seed=9, rate_limit=100_000)
    times = _request_times(server)
    budget = 240  # one call every 0.25 s
    run = kit.run_tap(kit.tap_config(server, page_size=1, max_requests_per_minute=budget), tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(_records(run)) == 8
    assert len(times) == 8
    # The tap spaces its sends 60/budget apart; a send held up after its slot
    # (a busy machine) arrives late and narrows the next gap, but never lets
    # any run of calls arrive faster than the budget by more than that delay.
    interval = 60 / budget
    for first, last in itertools.combinations(range(len(times)), 2):
        span = times[last] - times[first]
        assert span >= (last - first) * interval - 0.15, (first, last, times)
    assert times[-1] - times[0] >= 7 * interval - 0.15


def test_the_budget_is_the_targets_setting_and_documented_in_both_readmes(
    make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    about = kit.run_tap(kit.tap_config(make_server(users=0)), tmp_path, "--about", "--format=json")
    tap_setting = json.loads(about.stdout)["settings"]["properties"]
    target_about = subprocess.run(
        [kit.TARGET, "--about", "--format=json"], capture_output=True, text=True, check=True
    )
    target_setting = json.loads(target_about.stdout)["settings"]["properties"]
    name = "max_requests_per_minute"
    # Same kind of value; only the target's may not be null (it has a default,
    # the tap's empty setting means "no budget of its own").
    assert [k for k in tap_setting[name]["type"] if k != "null"] == target_setting[name]["type"]
    for readme in ("tap-algolia/README.md", "target-algolia/README.md"):
        text = (ROOT / readme).read_text()
        assert f"| {name} |" in text, readme
        assert "budgets that add up to less than 500" in " ".join(text.split()), readme


# Point 8: an interrupted sync is a failed run -----------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_sync_exits_non_zero_and_keeps_the_previous_bookmark(
    signum: signal.Signals, make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(users=40, seed=21)
    config = kit.tap_config(server, page_size=2)
    previous = "2026-08-01T00:00:00.000000Z"  # before every seeded profile
    server.admin.set_latency(150)  # 20 pages: about 3 s of paging to interrupt
    command = [
        kit.TAP,
        "--config",
        str(kit.write_json(tmp_path / "tap-config.json", config)),
        "--state",
        str(kit.write_json(tmp_path / "tap-state.json", kit.bookmark_state(previous))),
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        deadline = time.monotonic() + 30
        while server.admin.stats()["total"] < 3 and proc.poll() is None:
            assert time.monotonic() < deadline, "the tap never started paging"
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signum)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=30)
        stopped_after = time.monotonic() - sent
    kit.capture(out, err)

    assert proc.returncode == 128 + signum, (proc.returncode, err[-2000:])
    assert stopped_after < 5
    assert "Traceback" not in err
    assert len(kit.error_lines(err)) == 1, kit.error_lines(err)
    assert f"Interrupted by {signum.name}" in kit.error_lines(err)[0]
    run = kit.ProcessRun(proc.returncode, out, err)
    assert server.admin.stats()["total"] < 20, "the sync finished before the signal"
    bookmarks = kit.tap_bookmarks(run)
    assert bookmarks, "no STATE emitted"
    assert set(bookmarks) == {previous}


# Point 9: a state file the tap cannot use ---------------------------------------------

BAD_STATES = {
    "not JSON": ("{bookmarks: users}", "The state file is not valid JSON"),
    "empty file": ("", "The state file is not valid JSON"),
    "bookmarks a string": ('{"bookmarks": "x"}', 'The state\'s "bookmarks" must be an object'),
    "a list": ("[]", "The state must be a JSON object"),
    "stream state a number": (
        '{"bookmarks": {"users": 7}}',
        'The state\'s bookmark for "users" must be an object',
    ),
    "bookmark not a timestamp": (
        json.dumps(
            {
                "bookmarks": {
                    "users": {"replication_key": "lastUpdatedAt", "replication_key_value": "abc"}
                }
            }
        ),
        "must be an RFC 3339 timestamp",
    ),
    "bookmark a number": (
        json.dumps(
            {
                "bookmarks": {
                    "users": {"replication_key": "lastUpdatedAt", "replication_key_value": 17}
                }
            }
        ),
        "must be an RFC 3339 timestamp",
    ),
    **{
        f"bookmark with the offset {offset}": (
            json.dumps(
                {
                    "bookmarks": {
                        "users": {
                            "replication_key": "lastUpdatedAt",
                            "replication_key_value": f"2026-11-02T10:00:00{offset}",
                        }
                    }
                }
            ),
            # The profile reader refuses the same offsets (test_tap_odd_answers).
            "must be an RFC 3339 timestamp",
        )
        for offset in ("+99:99", "+24:00", "-00:60")
    },
}


@pytest.mark.parametrize("case", list(BAD_STATES), ids=list(BAD_STATES))
def test_a_bad_state_file_is_one_line_before_any_api_call(
    case: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    text, expected = BAD_STATES[case]
    state_path = tmp_path / "bad-state.json"
    state_path.write_text(text)
    config = kit.write_json(tmp_path / "tap-config.json", kit.tap_config(emu))
    done = subprocess.run(
        [kit.TAP, "--config", str(config), "--state", str(state_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    kit.capture(done.stdout, done.stderr)
    line = kit.assert_clean_failure(done.returncode, done.stderr, expected)
    assert "meltano state clear" in line
    assert emu.admin.stats()["total"] == 0
    assert done.stdout == ""
