"""A sync interrupted by SIGTERM or SIGINT is a failed run: the tap exits
128 + the signal within seconds, in one error line, and every STATE it emitted
keeps the previous bookmark. Runs the tap's executable against the emulator.
"""

from __future__ import annotations

import signal
import typing as t
from pathlib import Path

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit.tap_runs import interrupt_while_paging

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


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
    proc = interrupt_while_paging(command, server, signum)
    out, err = proc.stdout, proc.stderr
    kit.capture(out, err)

    assert proc.returncode == 128 + signum, (proc.returncode, err[-2000:])
    assert proc.stopped_after < 5
    assert "Traceback" not in err
    assert len(kit.error_lines(err)) == 1, kit.error_lines(err)
    assert f"Interrupted by {signum.name}" in kit.error_lines(err)[0]
    run = kit.ProcessRun(proc.returncode, out, err)
    assert server.admin.stats()["total"] < 20, "the sync finished before the signal"
    bookmarks = kit.tap_bookmarks(run)
    assert bookmarks, "no STATE emitted"
    assert set(bookmarks) == {previous}
