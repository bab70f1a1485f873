"""kill -9 in the middle of a run, then run again: nothing is lost.

The target: killed in the middle of a batch, then rerun on the same input (and,
as meltano would resume, on the input after the last STATE it emitted): every
profile converges to the merge result, and a third run writes nothing.

The tap: killed in the middle of a sync, then rerun from the last STATE it
emitted: every profile updated since the previous bookmark, including the
ones touched while the killed run was paging, is delivered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import typing as t

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit import target_runs as tk

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"


def _wait_until(condition: t.Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _kill(proc: subprocess.Popen) -> str:
    os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    kit.capture(out or "", err or "")
    return out or ""


# The target ---------------------------------------------------------------------------

USERS = [f"user-{n:03d}" for n in range(40)]


def _target_messages() -> list[dict]:
    messages: list[dict] = [tk.schema()]
    for n, uid in enumerate(USERS):
        messages += [tk.event(uid, "promo"), tk.event(uid, "vip", "exit")]
        if n % 4 == 0:
            messages.append(tk.snapshot(uid, ["s1", "promo"]))
        messages.append(tk.state(n))
    return messages


def _expected(n: int) -> list[tuple[str, str]]:
    if n % 4 == 0:  # the snapshot drops s0; new segments follow their last entry
        return [("vip", "crm"), ("s1", M), ("promo", M)]
    return [("vip", "crm"), ("s0", M), ("promo", M)]


@pytest.mark.parametrize("rerun", ["same-input", "input-after-last-state"])
@pytest.mark.parametrize("kill_after_puts", [1, 12])
def test_target_killed_mid_batch_converges_on_rerun(
    rerun: str, kill_after_puts: int, emu: EmulatorServer, tmp_path: Path
) -> None:
    for uid in USERS:
        tk.put_user(emu, uid, [("vip", "crm"), ("vip", M), ("s0", M)])
    messages = _target_messages()
    config = kit.target_config(emu, batch_size_rows=30, concurrency=3)
    emu.admin.set_latency(20)
    proc = tk.spawn_cli(config, tmp_path, config_name="target-config.json")
    tk.feed_and_close(proc, messages)
    _wait_until(
        lambda: sum(emu.admin.stats()["userPuts"].values()) >= kill_after_puts,
        "the target never started writing",
    )
    proc.stdin = None  # already closed; communicate() must not flush it
    out = _kill(proc)
    done = [n for n, uid in enumerate(USERS) if tk.segments_of(emu, uid) == _expected(n)]
    assert 0 < len(done) < len(USERS), "the kill did not land in the middle of the run"
    # Whatever STATE the killed run emitted was true when it was emitted.
    states = [json.loads(line)["bookmark"] for line in out.splitlines() if line.strip()]
    if states:
        assert all(n in done for n in range(states[-1] + 1))

    emu.admin.set_latency(0)
    replay = messages
    if rerun == "input-after-last-state" and states:
        cut = messages.index(tk.state(states[-1])) + 1
        replay = [tk.schema(), *messages[cut:]]
    result = tk.run_cli(config, replay, tmp_path)
    kit.capture(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr
    for n, uid in enumerate(USERS):
        assert tk.segments_of(emu, uid) == _expected(n), uid
    emu.admin.reset_stats()
    result = tk.run_cli(config, messages, tmp_path)
    kit.capture(result.stdout, result.stderr)
    assert result.returncode == 0
    assert emu.admin.stats()["userPuts"] == {}, "converged profiles were written again"


# The tap ------------------------------------------------------------------------------


def test_tap_killed_mid_sync_misses_nothing_on_rerun(
    make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(users=60, seed=11)
    config = kit.tap_config(server, page_size=3)
    first = kit.run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr
    bookmark = kit.tap_bookmarks(first)[-1]
    time.sleep(1.1)  # later profile stamps than the bookmark (whole seconds)

    # Profiles updated after the first sync, some before and some during the killed one.
    users = sorted({m["record"]["userID"] for m in first.messages if m["type"] == "RECORD"})
    changed_before = users  # the killed sync has 20 pages to read
    for uid in changed_before:
        server.admin.touch(uid)
    time.sleep(1.1)  # the window ends at the sync start in whole seconds: be past the touches
    changed_during = users[::7]
    server.admin.schedule_touch(3, changed_during)
    server.admin.set_latency(150)  # 20 pages: about 3 s of paging to kill it in
    state_path = kit.write_json(tmp_path / "tap-state.json", kit.bookmark_state(bookmark))
    server.admin.reset_stats()
    proc = subprocess.Popen(
        [kit.TAP, "--config", str(tmp_path / "tap-config.json"), "--state", str(state_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_until(
        lambda: server.admin.stats()["total"] >= 4 or proc.poll() is not None,
        "the tap never started paging",
    )
    assert proc.poll() is None, proc.communicate()
    out = _kill(proc)
    # Stored state: the last STATE line the killed run got out, else the old one.
    states = [
        json.loads(line)["value"]
        for line in out.splitlines()
        if line.strip().startswith("{") and json.loads(line).get("type") == "STATE"
    ]
    stored = states[-1] if states else kit.bookmark_state(bookmark)
    resumed_from = stored["bookmarks"]["users"]["replication_key_value"]
    assert resumed_from == bookmark, "a killed sync moved the bookmark"

    # A touch still pending would fire during the rerun, after its window end:
    # that profile is for the next sync (the overlap), not for this check.
    server.admin.clear_faults()
    server.admin.set_latency(0)
    # The next scheduled run starts at least a second later; a profile stamped in
    # the same whole second as a sync start belongs to the sync after it.
    time.sleep(1.1)
    rerun = kit.run_tap(config, tmp_path, state=stored)
    assert rerun.returncode == 0, rerun.stderr
    delivered = {m["record"]["userID"] for m in rerun.messages if m["type"] == "RECORD"}
    missed = set(changed_before + changed_during) - delivered
    assert set(changed_before) == set(users)
    assert not missed, f"profiles missed after the rerun: {sorted(missed)}"
    assert kit.tap_bookmarks(rerun)[-1] > bookmark
