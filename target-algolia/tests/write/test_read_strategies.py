"""Read strategies against the emulator: what a list scan costs and when it writes."""

from __future__ import annotations

import typing as t

import pytest

from algolia_api import ServerError
from algolia_testkit.target_runs import (
    api_calls,
    base_config,
    event,
    load_profiles,
    run_in_process,
    schema,
    segments_of,
    snapshot,
    state,
)
from target_algolia.write import scan

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer

M = "meltano"


def profiles(count: int, **extra: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    users: dict[str, list[tuple[str, str]]] = {f"u{i:05d}": [] for i in range(count)}
    users.update(extra)
    return users


def test_list_scan_costs_one_call_per_page_and_one_put_per_changed_user(
    emu: EmulatorServer,
) -> None:
    # 2,500 profiles: three pages. u00000 already holds vip; u01500 and u02400 change.
    load_profiles(emu, profiles(2500, u00000=[("vip", M), ("x", "crm")]))
    messages = [
        schema(),
        snapshot("u00000", ["vip"]),  # unchanged: no call of its own
        snapshot("u01500", ["vip"]),
        event("u02400", "vip", "enter"),
        state(1),
    ]
    run = run_in_process(base_config(emu, read_strategy="list_scan"), messages)
    assert run.error is None
    calls = api_calls(emu)
    assert calls == {"list": 3, "gets": {}, "puts": {"u01500": 1, "u02400": 1}}
    assert segments_of(emu, "u00000") == [("vip", M), ("x", "crm")]
    assert segments_of(emu, "u01500") == [("vip", M)]
    assert segments_of(emu, "u02400") == [("vip", M)]
    assert run.states == [{"bookmark": 1}]
    assert (run.target.run.stats.writes, run.target.run.stats.unchanged) == (2, 1)


def test_scan_stops_once_every_batch_user_was_seen(emu: EmulatorServer) -> None:
    load_profiles(emu, profiles(5000))
    run = run_in_process(
        base_config(emu, read_strategy="list_scan"),
        [schema(), event("u00010", "vip"), event("u01200", "vip")],
    )
    assert run.error is None
    assert api_calls(emu)["list"] == 2  # pages 1 and 2 of 5


def test_reread_costs_a_get_and_a_put_per_changed_user_and_sees_a_late_write(
    emu: EmulatorServer,
) -> None:
    load_profiles(emu, profiles(1500))
    # Another system adds its own segment to u00020 right after our first page
    # was served.
    emu.admin.schedule_touch(
        1, ["u00020"], action="segments", segments=[{"id": "vip", "source": "crm"}]
    )
    run = run_in_process(
        base_config(emu, read_strategy="list_scan", reread_before_write=True),
        [
            schema(),
            event("u00020", "shoes"),
            event("u00030", "shoes"),
            event("u00040", "x", "exit"),
        ],
    )
    assert run.error is None
    calls = api_calls(emu)
    # u00040 is unchanged on the scanned copy: no GET, no PUT.
    assert calls["gets"] == {"u00020": 1, "u00030": 1}
    assert calls["puts"] == {"u00020": 1, "u00030": 1}
    assert segments_of(emu, "u00020") == [("vip", "crm"), ("shoes", M)]


def test_without_reread_a_write_landing_after_the_scan_is_overwritten(emu: EmulatorServer) -> None:
    # The documented window: what another system writes between our read and our
    # PUT is lost. The write lands after page 1 was served, before our PUT.
    load_profiles(emu, profiles(1500))
    emu.admin.schedule_touch(
        1, ["u00020"], action="segments", segments=[{"id": "vip", "source": "crm"}]
    )
    run = run_in_process(
        base_config(emu, read_strategy="list_scan"), [schema(), event("u00020", "shoes")]
    )
    assert run.error is None
    assert segments_of(emu, "u00020") == [("shoes", M)]


def test_each_page_is_written_before_the_next_page_is_read(emu: EmulatorServer) -> None:
    # Another system writes to u00010 (page 1) as soon as page 2 is served. If
    # page 1's PUT came after page 2 was read, it would erase that write.
    load_profiles(emu, profiles(2500))
    emu.admin.schedule_touch(
        2, ["u00010"], action="segments", segments=[{"id": "late", "source": "crm"}]
    )
    run = run_in_process(
        base_config(emu, read_strategy="list_scan"),
        [schema(), event("u00010", "shoes"), event("u02000", "shoes")],
    )
    assert run.error is None
    assert segments_of(emu, "u00010") == [("late", "crm")]
    assert segments_of(emu, "u02000") == [("shoes", M)]


def test_profile_deleted_between_scan_and_write_is_skipped(emu: EmulatorServer) -> None:
    load_profiles(emu, profiles(1200))
    emu.admin.schedule_touch(1, ["u00005"], action="delete")  # after page 1
    run = run_in_process(
        base_config(emu, read_strategy="list_scan"),
        [schema(), event("u00005", "vip"), event("u00006", "vip"), state(7)],
    )
    assert run.error is None
    assert run.target.run.stats.skipped == {"profile_not_found": 1}
    assert segments_of(emu, "u00006") == [("vip", M)]
    assert run.states == [{"bookmark": 7}]


def test_user_the_scan_never_showed_gets_one_get(emu: EmulatorServer) -> None:
    load_profiles(emu, profiles(10))
    run = run_in_process(
        base_config(emu, read_strategy="list_scan"),
        [schema(), event("ghost", "vip"), event("u00001", "vip")],
    )
    assert run.error is None
    calls = api_calls(emu)
    assert calls["gets"] == {"ghost": 1}
    assert calls["puts"] == {"u00001": 1}
    assert run.target.run.stats.skipped == {"profile_not_found": 1}


def test_scan_page_failing_after_retries_stops_the_run_without_state(
    emu: EmulatorServer,
) -> None:
    load_profiles(emu, profiles(2500))
    config = base_config(emu, read_strategy="list_scan", max_retries=2)
    messages = [schema(), event("u00010", "vip"), event("u02000", "vip"), state(3)]
    # Page 1 passes; page 2 fails on its try and both retries.
    emu.admin.inject_status(500, 3, method="GET", path_prefix="/2/users", after=1)
    run = run_in_process(config, messages)
    assert isinstance(run.error, ServerError)
    assert run.states == []
    assert emu.admin.stats()["injected"] == 3
    assert segments_of(emu, "u02000") == []
    # Page 1's change was written before page 2 failed; the rerun converges.
    run = run_in_process(config, messages)
    assert run.error is None
    assert segments_of(emu, "u00010") == [("vip", M)]
    assert segments_of(emu, "u02000") == [("vip", M)]
    assert run.states == [{"bookmark": 3}]


@pytest.mark.parametrize(("batch", "expected"), [(999, "per_user"), (1000, "list_scan")])
def test_auto_scans_only_batches_of_a_thousand_users_or_more(batch: int, expected: str) -> None:
    assert scan.ReadStrategy.AUTO.for_batch(batch).value == expected
    assert scan.ReadStrategy.PER_USER.for_batch(10**6) is scan.ReadStrategy.PER_USER


def test_auto_gives_up_the_scan_when_per_user_reads_are_cheaper(
    emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three batch users at the end of a 5-page application: after 3 pages the
    # scan has cost as much as reading the 3 unseen users one by one.
    monkeypatch.setattr(scan, "AUTO_SCAN_MIN_USERS", 2)
    load_profiles(emu, profiles(5000))
    run = run_in_process(
        base_config(emu, read_strategy="auto"),
        [schema(), event("u04990", "a"), event("u04991", "a"), event("u04992", "a")],
    )
    assert run.error is None
    calls = api_calls(emu)
    assert calls["list"] == 3
    assert calls["gets"] == {"u04990": 1, "u04991": 1, "u04992": 1}
    assert len(calls["puts"]) == 3


def test_list_scan_and_its_writes_share_the_paced_budget(
    emulator_factory: t.Callable[..., EmulatorServer],
) -> None:
    # A small server-side limit: every page and PUT waits for the window the
    # emulator reports, as every other call does; nothing is lost to a 429.
    emu = emulator_factory(users=0, rate_limit=15, rate_window=1)
    load_profiles(emu, profiles(3000))
    changed = [f"u{i:05d}" for i in range(0, 3000, 100)]  # 30 users over 3 pages
    run = run_in_process(
        base_config(emu, read_strategy="list_scan"),
        [schema(), *(event(user, "vip") for user in changed), state(9)],
    )
    assert run.error is None
    assert all(segments_of(emu, user) == [("vip", M)] for user in changed)
    calls = api_calls(emu)
    assert calls["list"] == 3
    assert sum(calls["puts"].values()) == len(changed)
    assert run.states == [{"bookmark": 9}]
    assert run.target.run.stats.scan_pages == 3
