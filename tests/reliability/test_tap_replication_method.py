"""The catalog's replication method: ``FULL_TABLE`` in the catalog makes the tap
read every profile, whatever bookmark the state holds, and the bookmark still
moves to the new window's end. Runs the tap's CLI against the emulator.
"""

from __future__ import annotations

import time
import typing as t
from pathlib import Path

from algolia_testkit import reliability as kit

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


def test_full_table_in_the_catalog_reads_every_profile_whatever_the_state(
    make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(users=60, seed=3)
    config = kit.tap_config(server, page_size=20)
    first = kit.run_tap(config, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    bookmark = kit.tap_bookmarks(first)[-1]
    time.sleep(1.1)  # touches land after the bookmark (whole seconds)
    changed = sorted(r["userID"] for r in kit.tap_records(first))[:10]
    for user_id in changed:
        server.admin.touch(user_id)
    time.sleep(1.1)
    state = kit.bookmark_state(bookmark)

    incremental = kit.run_tap(config, tmp_path, state=state)
    assert incremental.returncode == 0, incremental.stderr[-2000:]
    assert sorted(r["userID"] for r in kit.tap_records(incremental)) == changed

    catalog = kit.write_catalog(config, tmp_path, replication_method="FULL_TABLE")
    full = kit.run_tap(config, tmp_path, "--catalog", str(catalog), state=state)
    assert full.returncode == 0, full.stderr[-2000:]
    assert len({r["userID"] for r in kit.tap_records(full)}) == 60
    assert "ignoring the bookmark" in full.stderr
    assert kit.tap_bookmarks(full)[-1] > bookmark
