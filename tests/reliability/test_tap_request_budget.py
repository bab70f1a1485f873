"""The tap's own request budget, ``max_requests_per_minute``: the tap spaces its
calls by it, and it is the same setting as the target's, documented in both
READMEs. Runs the tap's CLI against the emulator.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
import typing as t
from pathlib import Path

from algolia_testkit import reliability as kit

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


ROOT = Path(__file__).resolve().parents[2]


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
    assert len(kit.tap_records(run)) == 8
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
