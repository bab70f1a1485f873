"""STATE on the command line: it never precedes the writes of the records before it; a
kill -9 mid-batch is repaired by a rerun; a SIGTERM mid-batch emits no STATE, and one
between batches writes what was read, then emits its STATE.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import typing as t

import pytest

from algolia_testkit.target_runs import (
    base_config,
    event,
    feed_and_close,
    put_user,
    run_cli,
    schema,
    segments_of,
    snapshot,
    spawn_cli,
    start_cli,
    state,
    to_lines,
    wait_until_reading,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer


M = "meltano"


def test_state_never_precedes_the_writes_of_earlier_records(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """Read STATE lines as they are emitted and check the emulator at that moment."""
    emu.admin.set_latency(15)
    batches = 5
    per_batch = 6
    messages: list[dict | str] = [schema()]
    users_before: dict[int, list[str]] = {}
    written: list[str] = []
    for b in range(batches):
        for i in range(per_batch):
            uid = f"b{b}-u{i}"
            put_user(emu, uid, [])
            messages.append(event(uid, "seen"))
            written.append(uid)
        users_before[b] = list(written)
        messages.append(state(b))
    config = base_config(emu, batch_size_rows=per_batch, concurrency=3)
    with spawn_cli(config, tmp_path, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        feed_and_close(proc, messages)
        seen: list[int] = []
        for line in proc.stdout:
            bookmark = json.loads(line)["bookmark"]
            seen.append(bookmark)
            for uid in users_before[bookmark]:
                assert segments_of(emu, uid) == [("seen", M)], (bookmark, uid)
        assert proc.wait(timeout=30) == 0
    # A STATE per full batch, so a crash loses at most one batch of progress.
    assert seen == sorted(seen)
    assert len(seen) >= batches - 1
    assert seen[-1] == batches - 1


def _input_for_crash_test(users: list[str]) -> list[dict | str]:
    messages: list[dict | str] = [schema()]
    for n, uid in enumerate(users):
        messages.append(event(uid, "promo"))
        messages.append(event(uid, "vip", "exit"))
        if n % 3 == 0:
            messages.append(snapshot(uid, ["s1", "promo"]))
        messages.append(state(n))
    return messages


def _expected_after_crash_test(n: int) -> list[tuple[str, str]]:
    # Start: [("vip","crm"), ("vip",M), ("s0",M)]; enter promo, exit our vip;
    # every third user also gets the snapshot [s1, promo] (drops s0, adds s1).
    if n % 3 == 0:
        return [("vip", "crm"), ("s1", M), ("promo", M)]  # the snapshot's order
    return [("vip", "crm"), ("s0", M), ("promo", M)]


@pytest.mark.slow
def test_kill_9_mid_batch_then_rerun_converges(emu: EmulatorServer, tmp_path: Path) -> None:
    users = [f"user-{n:03d}" for n in range(60)]
    for uid in users:
        put_user(emu, uid, [("vip", "crm"), ("vip", M), ("s0", M)])
    messages = _input_for_crash_test(users)
    config = base_config(emu, batch_size_rows=90, concurrency=2)
    emu.admin.set_latency(25)

    proc = spawn_cli(config, tmp_path, stderr=subprocess.DEVNULL)
    feed_and_close(proc, messages)
    deadline = time.monotonic() + 30
    while sum(emu.admin.stats()["userPuts"].values()) < 8:
        assert time.monotonic() < deadline, "target never started writing"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    # Killed mid-run: some users written, others not.
    written = sum(
        1 for n, uid in enumerate(users) if segments_of(emu, uid) == _expected_after_crash_test(n)
    )
    assert 0 < written < len(users)

    emu.admin.set_latency(0)
    result = run_cli(config, messages, tmp_path)
    assert result.returncode == 0, result.stderr
    for n, uid in enumerate(users):
        assert segments_of(emu, uid) == _expected_after_crash_test(n), uid
    # And a third run on the converged profiles writes nothing.
    emu.admin.reset_stats()
    result = run_cli(config, messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert emu.admin.stats()["userPuts"] == {}


def test_sigterm_mid_batch_emits_no_state(emu: EmulatorServer, tmp_path: Path) -> None:
    users = [f"u{i:02d}" for i in range(40)]
    for uid in users:
        put_user(emu, uid, [])
    emu.admin.set_latency(30)
    messages: list[dict | str] = [schema()]
    for n, uid in enumerate(users):
        messages += [event(uid, "vip"), state(n)]
    proc = start_cli(base_config(emu, concurrency=2), tmp_path)
    feed_and_close(proc, messages)
    deadline = time.monotonic() + 20
    while sum(emu.admin.stats()["userPuts"].values()) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout is not None
    out = proc.stdout.read()
    assert proc.wait(timeout=20) != 0
    assert out == ""
    written = [uid for uid in users if segments_of(emu, uid) == [("vip", M)]]
    assert 0 < len(written) < len(users)


def test_sigterm_between_batches_writes_what_was_read_then_emits_state(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "u1", [])
    put_user(emu, "u2", [])
    proc = start_cli(base_config(emu, max_wait_seconds=120), tmp_path)
    assert proc.stdin is not None
    proc.stdin.write(to_lines([schema(), event("u1", "vip"), event("u2", "vip"), state(1)]))
    proc.stdin.flush()
    # Give it a moment to read the records after the SCHEMA. The batch is
    # neither full nor due: nothing is read or written yet.
    wait_until_reading(tmp_path, "audience")
    time.sleep(0.5)
    assert emu.admin.stats()["total"] == 0
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert [json.loads(line) for line in out.splitlines()] == [{"bookmark": 1}]
    assert segments_of(emu, "u1") == [("vip", M)]
    assert segments_of(emu, "u2") == [("vip", M)]
