"""A stop signal while the workers wait (in the pacer, or before a retry) ends the run at
once: no request is sent after it, and the process exits within seconds.
"""

from __future__ import annotations

import signal
import subprocess
import time
import typing as t

import pytest

from algolia_testkit.target_runs import (
    base_config,
    event,
    put_user,
    schema,
    spawn_cli,
    state,
    to_lines,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer


@pytest.fixture
def started() -> t.Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end is killed."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _start_writing(
    started: list[subprocess.Popen[str]],
    emu: EmulatorServer,
    tmp_path: Path,
    users: int,
    **config: t.Any,
) -> subprocess.Popen[str]:
    messages: list[dict | str] = [schema()]
    for n in range(users):
        put_user(emu, f"u{n:02d}", [])
        messages += [event(f"u{n:02d}", "vip"), state(n)]
    input_path = tmp_path / "input.jsonl"
    input_path.write_text(to_lines(messages))
    with input_path.open() as stdin:
        proc = spawn_cli(base_config(emu, **config), tmp_path, stdin=stdin)
    started.append(proc)
    return proc


def _wait_for_calls(emu: EmulatorServer, calls: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while emu.admin.stats()["total"] < calls:
        assert time.monotonic() < deadline, emu.admin.stats()
        time.sleep(0.05)


def _stop_and_measure(
    proc: subprocess.Popen[str], emu: EmulatorServer, signum: int
) -> tuple[float, str, str]:
    sent_before = emu.admin.stats()["total"]
    signalled_at = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - signalled_at
    time.sleep(1.0)  # a request started late would reach the emulator by now
    assert emu.admin.stats()["total"] == sent_before, "a request was sent after the stop"
    return elapsed, out, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_waiting_in_the_pacer_stops_at_once_without_requests(
    emulator_factory: t.Callable[..., EmulatorServer],
    tmp_path: Path,
    started: list[subprocess.Popen[str]],
    signum: int,
) -> None:
    # 12 calls per 60 s window: the 13th waits in the pacer for most of a minute.
    emu = emulator_factory(users=0, rate_limit=12, rate_window=60)
    proc = _start_writing(started, emu, tmp_path, users=30, concurrency=2)
    _wait_for_calls(emu, 12)
    time.sleep(0.5)
    assert proc.poll() is None  # still running: waiting for the window
    assert emu.admin.stats()["rateLimited"] == 0  # waiting in the pacer, not in a retry
    elapsed, out, err = _stop_and_measure(proc, emu, signum)
    assert proc.returncode != 0
    assert out == ""  # no STATE: the batch was not written
    assert "stopping without STATE" in err
    assert "Traceback" not in err
    assert elapsed < 4, f"took {elapsed:.1f} s to stop"


def test_a_signal_during_a_long_retry_wait_exits_within_seconds(
    emu: EmulatorServer, tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    emu.admin.inject_status(429, count=4, method="PUT", retry_after=30)
    proc = _start_writing(started, emu, tmp_path, users=6, concurrency=2)
    deadline = time.monotonic() + 20
    while emu.admin.stats()["rateLimited"] < 2:
        assert time.monotonic() < deadline, emu.admin.stats()
        time.sleep(0.05)
    time.sleep(0.5)  # both workers now sleep 30 s before their retry
    elapsed, out, err = _stop_and_measure(proc, emu, signal.SIGTERM)
    # The workers sleep through the stop: the watchdog ends the process, as the stop.
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "still stopping after 5 s" in err
    assert out == ""
    assert elapsed < 8, f"took {elapsed:.1f} s to stop"
