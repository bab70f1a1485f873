"""A 408 (Request Timeout) answer is retried like a 5xx by both plugins, run as CLIs.

A 408 says the server, or a proxy in front of it, gave up waiting for the
request: sending it again may well succeed. So a few 408s on a target's PUT
or on a tap's list page are ridden out and everything is delivered; 408s that
outlast ``max_retries`` fail the run non-zero with one line, and no STATE
claims the record (target) or moves the bookmark (tap).
"""

from __future__ import annotations

import typing as t

from algolia_testkit import reliability as kit
from algolia_testkit import target_runs as tk

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"
USERS = [f"user-{n}" for n in range(4)]
BEFORE = [("vip", "crm"), ("old", M)]
AFTER = [("vip", "crm"), ("promo", M)]
PREVIOUS_BOOKMARK = "2026-07-01T00:00:00.000000Z"  # before every seeded profile


def _target_input() -> list[dict]:
    """Two users, a STATE, two more users, a STATE."""
    messages: list[dict] = [tk.schema()]
    for n, uid in enumerate(USERS):
        messages += [tk.event(uid, "promo"), tk.event(uid, "old", "exit")]
        if n % 2 == 1:
            messages.append(tk.state(n))
    return messages


def _run_target(emu: EmulatorServer, tmp_path: Path, max_retries: int) -> kit.ProcessRun:
    for uid in USERS:
        tk.put_user(emu, uid, BEFORE)
    config = kit.target_config(
        emu, batch_size_rows=4, concurrency=1, max_retries=max_retries, request_timeout=2
    )
    return kit.run_target(config, _target_input(), tmp_path)


def test_a_few_408s_on_a_put_are_retried_and_the_write_lands(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    # The second user's PUT is answered 408 twice, then accepted.
    emu.admin.inject_status(408, 2, method="PUT", after=1)
    run = _run_target(emu, tmp_path, max_retries=3)
    assert run.returncode == 0, run.stderr[-2000:]
    assert emu.admin.stats()["byStatus"].get("408") == 2
    for uid in USERS:
        assert tk.segments_of(emu, uid) == AFTER, uid
    assert "api_refused" not in run.stderr
    assert run.states_seen == [{"bookmark": 1}, {"bookmark": 3}]


def test_408s_beyond_the_retries_fail_the_target_without_state_past_the_record(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    # Every PUT after the first is answered 408.
    emu.admin.inject_status(408, 1000, method="PUT", after=1)
    run = _run_target(emu, tmp_path, max_retries=2)
    line = kit.assert_clean_failure(run.returncode, run.stderr, "408 from Algolia")
    assert "PUT /2/users/user-1/segments" in line
    assert tk.segments_of(emu, "user-1") == BEFORE
    # The first STATE covers user-1, whose write never landed: it must not be emitted.
    assert run.states_seen == []
    assert "api_refused" not in run.stderr


TAP_USERS = 20
TAP_PAGE = 5


def _run_tap(server: EmulatorServer, tmp_path: Path, max_retries: int) -> kit.ProcessRun:
    config = kit.tap_config(server, page_size=TAP_PAGE, max_retries=max_retries)
    return kit.run_tap(config, tmp_path, state=kit.bookmark_state(PREVIOUS_BOOKMARK))


def test_a_few_408s_on_a_list_page_are_retried_and_the_sync_completes(
    make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(users=TAP_USERS, seed=5)
    # The second page is answered 408 twice, then served.
    server.admin.inject_status(408, 2, method="GET", path_prefix="/2/users", after=1)
    run = _run_tap(server, tmp_path, max_retries=3)
    assert run.returncode == 0, run.stderr[-2000:]
    assert server.admin.stats()["byStatus"].get("408") == 2
    records = {m["record"]["userID"] for m in run.messages if m["type"] == "RECORD"}
    assert len(records) == TAP_USERS
    assert kit.tap_bookmarks(run)[-1] > PREVIOUS_BOOKMARK


def test_408s_beyond_the_retries_fail_the_tap_without_moving_the_bookmark(
    make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(users=TAP_USERS, seed=5)
    server.admin.inject_status(408, 1000, method="GET", path_prefix="/2/users", after=1)
    run = _run_tap(server, tmp_path, max_retries=2)
    kit.assert_clean_failure(run.returncode, run.stderr, "408 from Algolia")
    # The first page was read, then the sync failed: tries = 1 + max_retries.
    assert server.admin.stats()["byStatus"].get("408") == 3
    assert all(value == PREVIOUS_BOOKMARK for value in kit.tap_bookmarks(run))
