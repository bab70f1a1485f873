"""The target shares the tap's pacing: a server clock minutes off neither hangs nor slows it.

Point 1 of issue 14 was seen in both plugins (the target waited 10 minutes
with a server 90 s behind). The pacer is shared (algolia_api.pacing), so the
same bound as the tap's test holds: 6 users with a GET and a PUT each is 12
calls; at 4 calls per 2 s window, 2 waits for a reset.
"""

from __future__ import annotations

import time
import typing as t

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit import target_runs as tk

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

USERS = 6
LIMIT = 4
WINDOW = 2.0
CALLS = 2 * USERS
WAITS = -(-CALLS // LIMIT) - 1
STARTUP = 8.0


@pytest.mark.parametrize("skew", [-600, -90, 60, 600])
def test_target_paces_on_the_servers_clock_whatever_the_skew(
    skew: int, make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(
        users=USERS, seed=8, rate_limit=LIMIT, rate_window=WINDOW, clock_offset=skew
    )
    users = server.emulator.store.all_user_ids()
    messages = [tk.schema(), *(tk.event(uid, "skewed") for uid in users), tk.state(1)]
    started = time.monotonic()
    run = kit.run_target(kit.target_config(server), messages, tmp_path, timeout=120)
    elapsed = time.monotonic() - started

    assert run.returncode == 0, run.stderr[-2000:]
    for uid in users:
        assert ("skewed", "meltano") in tk.segments_of(server, uid)
    stats = server.admin.stats()
    assert stats["rateLimited"] == 0
    assert stats["total"] == CALLS
    assert elapsed < STARTUP + WAITS * (WINDOW + 2.0), f"{elapsed:.1f} s"
