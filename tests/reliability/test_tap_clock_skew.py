"""A server clock minutes away from the host's neither hangs nor slows the tap.

The emulator's ``clock_offset`` skews everything its clock stamps: profile
times, ``x-ratelimit-reset`` and the HTTP ``Date`` header, as a real skewed
server would. The tap runs as a subprocess against it, with a rate limit small
enough that the sync has to wait for the window to reset twice.

Bound: 12 pages at 4 calls per 2 s window means 2 waits for a reset, each at
most the window, plus 1 s because the reset is whole seconds rounded up, plus
1 s because ``Date`` is whole seconds. Before the fix a server 90 s behind
hung the tap forever, and one 60 s ahead made every wait 60 s longer.
"""

from __future__ import annotations

import time
import typing as t

import pytest

from algolia_testkit import reliability as kit

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

USERS = 12
LIMIT = 4
WINDOW = 2.0
WAITS = USERS // LIMIT - 1
#: Start-up of the tap process (imports, discovery) on a slow, shared machine.
STARTUP = 8.0


@pytest.mark.parametrize("skew", [-600, -90, 0, 60, 600])
def test_tap_paces_on_the_servers_clock_whatever_the_skew(
    skew: int, make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(
        users=USERS, seed=5, rate_limit=LIMIT, rate_window=WINDOW, clock_offset=skew
    )
    started = time.monotonic()
    run = kit.run_tap(kit.tap_config(server, page_size=1), tmp_path, timeout=120)
    elapsed = time.monotonic() - started

    assert run.returncode == 0, run.stderr[-2000:]
    records = [m for m in run.messages if m["type"] == "RECORD"]
    assert len({m["record"]["userID"] for m in records}) == USERS
    assert kit.tap_bookmarks(run)
    stats = server.admin.stats()
    # Never early: no request reached a window that was already full ...
    assert stats["rateLimited"] == 0
    assert stats["byRoute"] == {"GET /2/users": USERS}
    # ... and never late by more than the whole-second roundings.
    assert elapsed < STARTUP + WAITS * (WINDOW + 2.0), f"{elapsed:.1f} s"
