"""Fault matrix: every fault x both plugins, run as subprocesses against the emulator.

Each case ends in one of two ways, and the checks below accept only those:

* delivered: exit 0 and all the data arrived (tap: every profile of the window
  is a RECORD and the final bookmark is the window end; target: every profile
  equals the expected merge and every STATE was emitted after the writes of
  the records before it);
* failed cleanly: non-zero exit, one error line naming the cause, no traceback,
  and no STATE that claims data that was not delivered (tap: the bookmark never
  moves past the previous one; target: each STATE, when it was emitted, had
  all records before it written).

On top of that each case states which of the two it must be, so that a fault
the retry budget should ride out cannot pass by failing "cleanly".
Retries use the production backoff (0.5 s base, Retry-After honoured); the
suite keeps the counts small and request_timeout at 1 s so the matrix stays fast.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
import requests

from algolia_api.timestamps import format_canonical
from algolia_testkit import reliability as kit
from algolia_testkit import target_runs

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"
PREVIOUS_BOOKMARK = "2026-07-01T00:00:00.000000Z"  # before every seeded profile


@dataclass(frozen=True)
class Fault:
    name: str
    arm: t.Callable[[kit.FaultScript], None]
    max_retries: int
    delivered: bool  # the expected outcome
    message: str = ""  # part of the one error line when the run fails
    description: str = ""


FAULTS = [
    Fault(
        "429-storm-retry-after",
        lambda s: s.statuses(429, 429, 429, retry_after=1),
        max_retries=4,
        delivered=True,
        description="3 consecutive 429s with Retry-After: 1 (and x-ratelimit-* headers)",
    ),
    Fault(
        "429-storm-no-retry-after",
        lambda s: s.statuses(429, 429, 429, headers=False),
        max_retries=4,
        delivered=True,
        description="3 consecutive 429s without Retry-After or rate-limit headers",
    ),
    Fault(
        "429-storm-beyond-retries",
        lambda s: s.statuses(*[429] * 6, retry_after=0, headers=False),
        max_retries=2,
        delivered=False,
        message="429 from Algolia",
        description="more 429s in a row than max_retries allows",
    ),
    Fault(
        "5xx-burst",
        lambda s: s.statuses(500, 502, 503),
        max_retries=4,
        delivered=True,
        description="a burst of 500, 502, 503",
    ),
    Fault(
        "5xx-persistent",
        lambda s: s.outage(30, "503"),
        max_retries=2,
        delivered=False,
        message="503 from Algolia",
        description="503 on every call for longer than the retry budget",
    ),
    Fault(
        "dropped-connections",
        lambda s: s.drops(3),
        max_retries=4,
        delivered=True,
        description="3 connections read, then closed without an answer",
    ),
    Fault(
        "outage-ridden-out",
        lambda s: s.outage(2.5, "503"),
        max_retries=6,
        delivered=True,
        description="every call fails (503) for 2.5 s in the middle of the run",
    ),
    Fault(
        "outage-drops-ridden-out",
        lambda s: s.outage(2.5, "drop"),
        max_retries=6,
        delivered=True,
        description="every connection dropped for 2.5 s in the middle of the run",
    ),
    Fault(
        "outage-beyond-retries",
        lambda s: s.outage(30, "drop"),
        max_retries=2,
        delivered=False,
        message="Could not reach Algolia after all retries",
        description="every connection dropped for longer than the retry budget",
    ),
    Fault(
        "slow-responses",
        lambda s: s.slow(1.6, count=2),
        max_retries=4,
        delivered=True,
        description="2 answers 1.6 s late with request_timeout 1 s",
    ),
    Fault(
        "slow-beyond-retries",
        lambda s: s.slow(1.6, for_seconds=30),
        max_retries=1,
        delivered=False,
        message="did not answer in time",
        description="every answer 1.6 s late, longer than the retry budget",
    ),
]


def _expect(fault: Fault, delivered: bool, run: kit.ProcessRun) -> None:
    if fault.delivered:
        assert delivered, (run.returncode, run.stderr[-3000:])
    else:
        assert not delivered, "the fault was meant to outlast the retry budget"
        kit.assert_clean_failure(run.returncode, run.stderr, fault.message)


# The tap -----------------------------------------------------------------------------

TAP_USERS = 30
TAP_PAGE = 5


def _check_tap(expected: set[str], run: kit.ProcessRun) -> bool:
    """Delivered or failed cleanly; returns True when delivered."""
    bookmarks = kit.tap_bookmarks(run)
    if run.returncode == 0:
        records = {m["record"]["userID"] for m in run.messages if m["type"] == "RECORD"}
        assert records == expected, expected ^ records
        window_end_min = format_canonical(datetime.fromtimestamp(int(run.started), tz=timezone.utc))
        window_end_max = format_canonical(datetime.fromtimestamp(run.ended, tz=timezone.utc))
        assert window_end_min <= bookmarks[-1] <= window_end_max, bookmarks
        assert run.messages[-1]["type"] == "STATE"
        return True
    # Failed: no STATE may move the bookmark past the previous one.
    assert all(value == PREVIOUS_BOOKMARK for value in bookmarks), bookmarks
    return False


def _all_users(server: EmulatorServer) -> list[dict[str, t.Any]]:
    users: list[dict[str, t.Any]] = []
    token = None
    while True:
        params: dict[str, t.Any] = {"limit": 1000}
        if token:
            params["nextPageToken"] = token
        page = requests.get(
            server.url + "/2/users",
            params=params,
            headers={"x-algolia-application-id": server.app_id, "x-algolia-api-key": kit.SECRET},
            timeout=10,
        ).json()
        users += page["users"]
        token = page.get("nextPageToken")
        if not token:
            return users


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_tap_under_fault(
    fault: Fault, make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(users=TAP_USERS, seed=7)
    expected_users = {u["userID"] for u in _all_users(server)}
    assert len(expected_users) == TAP_USERS
    server.admin.reset_stats()
    script = kit.FaultScript(server, after_calls=2)  # after two pages: mid-sync
    fault.arm(script)
    config = kit.tap_config(
        server, page_size=TAP_PAGE, request_timeout=1, max_retries=fault.max_retries
    )
    run = kit.run_tap(config, tmp_path, state=kit.bookmark_state(PREVIOUS_BOOKMARK))
    script.end_outage()
    assert script.fired_at is not None, "the fault never fired: the run ended too early"
    delivered = _check_tap(expected_users, run)
    _expect(fault, delivered, run)


# The target ---------------------------------------------------------------------------

TARGET_USERS = [f"user-{n:02d}" for n in range(12)]
TARGET_BATCH = 4
BEFORE = [("vip", "crm"), ("old", M)]
AFTER = [("vip", "crm"), ("promo", M)]


def _target_input() -> list[dict]:
    messages: list[dict] = [target_runs.schema()]
    for n, uid in enumerate(TARGET_USERS):
        messages.append(target_runs.event(uid, "promo"))
        messages.append(target_runs.event(uid, "old", "exit"))
        if (n + 1) % (TARGET_BATCH // 2) == 0:
            messages.append(target_runs.state(n))
    return messages


def _delivered(server: EmulatorServer, uid: str) -> bool:
    return target_runs.segments_of(server, uid) == AFTER


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_target_under_fault(
    fault: Fault, make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_server(users=0, rate_limit=100_000)
    for uid in TARGET_USERS:
        target_runs.put_user(server, uid, BEFORE)
    script = kit.FaultScript(server, after_calls=6)  # after the first batch or so
    fault.arm(script)
    late: list[t.Any] = []

    def on_state(value: dict[str, t.Any]) -> None:
        # At the moment a STATE appears, every user before it must be written.
        last = value["bookmark"]
        late.extend(uid for uid in TARGET_USERS[: last + 1] if not _delivered(server, uid))

    config = kit.target_config(
        server,
        request_timeout=1,
        max_retries=fault.max_retries,
        batch_size_rows=TARGET_BATCH * 2,  # two records per user: 4 users a batch
        concurrency=2,
    )
    run = kit.run_target(config, _target_input(), tmp_path, on_state=on_state)
    script.end_outage()
    assert script.fired_at is not None, "the fault never fired: the run ended too early"
    assert late == [], f"STATE emitted before these users were written: {late}"
    if run.returncode == 0:
        assert all(_delivered(server, uid) for uid in TARGET_USERS)
        assert run.states_seen[-1] == {"bookmark": len(TARGET_USERS) - 1}
        delivered = True
    else:
        delivered = False
    _expect(fault, delivered, run)
