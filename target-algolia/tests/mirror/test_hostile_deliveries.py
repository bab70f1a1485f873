"""Mirror mode under a hostile source, through the CLI against the emulator.

Each test feeds ``target-algolia`` a delivery that is wrong in one way and
checks, on the emulator's profiles, that no current member lost a segment,
what was removed, the one error line or the summary, and STATE.
"""

from __future__ import annotations

import json
import time
import typing as t

import pytest

from algolia_testkit.target_runs import (
    api_calls,
    base_config,
    load_profiles,
    run_cli,
    schema,
    segments_of,
    state,
)

if t.TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"
S = "members"
VIP = [("vip", M)]


def row(user: t.Any, slug: t.Any = "vip", version: int | None = None, **fields: t.Any) -> dict:
    message: dict[str, t.Any] = {
        "type": "RECORD",
        "stream": S,
        "record": {"algolia_user_id": user, "segment": slug, **fields},
    }
    if version is not None:
        message["version"] = version
    return message


def activate(version: int, stream: str = S) -> dict:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def fresh() -> int:
    """A version as a tap makes it when its sync begins: before the target starts."""
    return int(time.time())


def config(emu: EmulatorServer, audiences: list[str], **overrides: t.Any) -> dict[str, t.Any]:
    stream: dict[str, t.Any] = {"stream": S, "audiences": audiences}
    if "count_field" in overrides:
        stream["count_field"] = overrides.pop("count_field")
    overrides.setdefault("mirror_max_removal_fraction", 1)
    return base_config(emu, mirror_streams=[stream], **overrides)


def summary(result: subprocess.CompletedProcess[str]) -> str:
    return next(line for line in result.stderr.splitlines() if "Run summary" in line)


def states(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def one_error_line(result: subprocess.CompletedProcess[str], text: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if text in line]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


def ten_members(emu: EmulatorServer) -> list[str]:
    """m00..m09 hold vip; zed held it too and left."""
    users = [f"m{i:02d}" for i in range(10)]
    load_profiles(emu, {**dict.fromkeys(users, VIP), "zed": VIP})
    return users


# 1. Every proof present must agree; counts compare distinct rows ----------------------


def test_a_count_short_of_the_rows_vetoes_a_fresh_activate_version(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    users = ten_members(emu)
    v = fresh()
    # The tap lost two rows, yet ends with ACTIVATE_VERSION; the view said 10.
    rows = [row(u, version=v, n=10) for u in users[:8]]
    result = run_cli(
        config(emu, ["vip"], count_field="n"), [schema(S), *rows, activate(v)], tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for user in [*users, "zed"]:
        assert segments_of(emu, user) == VIP
    assert "n says 10 but 8 distinct rows arrived" in result.stderr
    assert f"which vetoes ACTIVATE_VERSION {v} after its records" in result.stderr
    assert "mirror={members:unproven:removals_skipped:count_mismatch/+0/-0}" in summary(result)
    assert api_calls(emu)["puts"] == {}


def test_an_old_version_vetoes_a_matching_count(emu: EmulatorServer, tmp_path: Path) -> None:
    users = ten_members(emu)
    # Rows replayed from an hour ago: the count matches them, the version says when.
    old = int((time.time() - 3600) * 1000)
    rows = [row(u, version=old, n=9) for u in users[:9]]
    result = run_cli(config(emu, ["vip"], count_field="n"), [schema(S), *rows], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(emu, "m09") == VIP
    assert segments_of(emu, "zed") == VIP
    assert "the records' version" in result.stderr
    assert "which vetoes n=9 matches the 9 distinct rows received" in result.stderr
    assert "unproven:removals_skipped:version_before_this_run" in summary(result)


def test_rows_of_two_versions_veto_a_matching_count(emu: EmulatorServer, tmp_path: Path) -> None:
    users = ten_members(emu)
    v = fresh()
    rows = [row(u, version=v if i % 2 else v - 5, n=10) for i, u in enumerate(users)]
    result = run_cli(config(emu, ["vip"], count_field="n"), [schema(S), *rows], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(emu, "zed") == VIP
    assert "records carry 2 versions" in result.stderr
    assert "unproven:removals_skipped:version_mismatch" in summary(result)


def test_a_duplicated_row_does_not_hide_a_lost_one(emu: EmulatorServer, tmp_path: Path) -> None:
    users = ten_members(emu)
    # 9 distinct members and m00 twice: 10 rows, but the tenth member was lost.
    rows = [row(u, n=10) for u in users[:9]] + [row("m00", n=10)]
    result = run_cli(config(emu, ["vip"], count_field="n"), [schema(S), *rows], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(emu, "m09") == VIP
    assert segments_of(emu, "zed") == VIP
    assert "n says 10 but 9 distinct rows arrived (1 duplicated rows counted once)" in (
        result.stderr
    )
    assert "1 duplicated rows" in result.stderr
    assert "skipped=1{duplicate_row:1}" in summary(result)


def test_duplicated_rows_of_a_complete_delivery_still_prove_it(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    users = ten_members(emu)
    rows = [row(u, n=10) for u in users] + [row("m03", n=10), row("m07", " vip ", n=10)]
    result = run_cli(config(emu, ["vip"], count_field="n"), [schema(S), *rows, state(1)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(emu, "zed") == []
    assert all(segments_of(emu, u) == VIP for u in users)
    assert "proven complete (n=10 matches the 10 distinct rows received)" in result.stderr
    assert "skipped=2{duplicate_row:2}" in summary(result)
    assert states(result) == [{"bookmark": 1}]


# 2. Guards per audience ------------------------------------------------------------------


@pytest.fixture
def two_audiences(emu: EmulatorServer) -> EmulatorServer:
    load_profiles(
        emu,
        {
            "alice": VIP,
            "bob": VIP,
            "carol": [("churn", M)],
            "dave": [("churn", M), ("x", "crm")],
        },
    )
    return emu


def test_an_audience_emptied_inside_a_stream_is_refused(
    two_audiences: EmulatorServer, tmp_path: Path
) -> None:
    emu = two_audiences
    v = fresh()
    rows = [row("alice", version=v), row("bob", version=v)]  # no churn row at all
    result = run_cli(
        config(emu, ["vip", "churn"]), [schema(S), *rows, activate(v), state(1)], tmp_path
    )
    line = one_error_line(result, "Mirror guard")
    assert "audience churn empty" in line
    assert "from all 2 profiles holding it" in line
    assert "nothing was written" in line
    assert "mirror_allow_empty_audience=true" in line
    assert segments_of(emu, "carol") == [("churn", M)]
    assert segments_of(emu, "dave") == [("churn", M), ("x", "crm")]
    assert api_calls(emu)["puts"] == {}
    assert result.stdout == ""


def test_an_emptied_audience_applies_when_allowed(
    two_audiences: EmulatorServer, tmp_path: Path
) -> None:
    emu = two_audiences
    v = fresh()
    rows = [row("alice", version=v)]  # bob left vip; churn emptied on purpose
    cfg = config(emu, ["vip", "churn"], mirror_allow_empty_audience=True)
    result = run_cli(cfg, [schema(S), *rows, activate(v), state(1)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(emu, "alice") == VIP
    assert segments_of(emu, "bob") == []
    assert segments_of(emu, "carol") == []
    assert segments_of(emu, "dave") == [("x", "crm")]
    assert "churn 0 members, -2 of 2 holders" in result.stderr
    assert states(result) == [{"bookmark": 1}]


def test_rows_with_no_segments_are_not_members(
    two_audiences: EmulatorServer, tmp_path: Path
) -> None:
    emu = two_audiences
    listed = [
        {"type": "RECORD", "stream": S, "record": {"algolia_user_id": u, "segments": [], "n": 4}}
        for u in ("alice", "bob", "carol", "dave")
    ]
    cfg = config(emu, ["vip", "churn"], count_field="n")
    result = run_cli(cfg, [schema(S), *listed, state(1)], tmp_path)
    line = one_error_line(result, "Mirror guard")
    assert "proved audience churn empty" in line
    assert "(and 1 more)" in line  # vip is empty too
    assert api_calls(emu)["puts"] == {}


def test_the_fraction_limit_holds_for_each_audience(emu: EmulatorServer, tmp_path: Path) -> None:
    # 20 vip holders stay; 2 of the 3 gold holders leave: 2 of 23 for the
    # stream (9%), but 67% of the gold audience.
    vips = [f"v{i:02d}" for i in range(20)]
    load_profiles(
        emu, {**dict.fromkeys(vips, VIP), **{g: [("gold", M)] for g in ("g0", "g1", "g2")}}
    )
    v = fresh()
    rows = [row(u, version=v) for u in vips] + [row("g0", "gold", v)]
    cfg = config(emu, ["vip", "gold"], mirror_max_removal_fraction=0.5)
    result = run_cli(cfg, [schema(S), *rows, activate(v)], tmp_path)
    line = one_error_line(result, "Mirror guard")
    assert "audience gold of stream members would remove gold from 2 of the 3 profiles" in line
    assert "(67%), over mirror_max_removal_fraction=0.5" in line
    assert segments_of(emu, "g1") == [("gold", M)]


# 3. A scan is a set -------------------------------------------------------------------------


def test_a_profile_listed_twice_is_planned_and_read_once(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    users = [f"p{i:04d}" for i in range(1500)]
    load_profiles(emu, dict.fromkeys(users, VIP))
    # The first page's last 50 profiles come again on the second; p0960 left.
    emu.admin.overlap_pages(1, profiles=50)
    v = fresh()
    rows = [row(u, version=v) for u in users if u != "p0960"]
    result = run_cli(config(emu, ["vip"]), [schema(S), *rows, activate(v), state(1)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(emu, "p0960") == []
    assert segments_of(emu, "p0961") == VIP
    assert api_calls(emu) == {"list": 2, "gets": {"p0960": 1}, "puts": {"p0960": 1}}
    assert "1 to remove from 1 of the 1500 profiles holding them" in result.stderr
    assert "50 profiles were listed more than once" in result.stderr
    assert "segments_removed=1 " in summary(result)
    assert states(result) == [{"bookmark": 1}]


# 4. A profile the target cannot address ----------------------------------------------------


def test_a_listed_profile_with_an_id_outside_the_rules_is_a_reject(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    load_profiles(emu, {"alice": VIP, "bob": VIP, "bad id!": VIP, "carol": VIP})
    rejects = tmp_path / "rejects.jsonl"
    v = fresh()
    cfg = config(emu, ["vip"], rejects_path=str(rejects))
    result = run_cli(cfg, [schema(S), row("alice", version=v), activate(v), state(7)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(emu, "bob") == []
    assert segments_of(emu, "carol") == []
    assert segments_of(emu, "alice") == VIP
    unaddressable = emu.emulator.store.get("bad id!")  # the admin API refuses that ID too
    assert unaddressable is not None
    assert unaddressable["segments"] == [{"id": "vip", "source": M}]
    assert "rejected=1{unaddressable_profile:1}" in summary(result)
    assert '"bad id!"' in result.stderr
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(line["record"]["userID"], line["stream"]) for line in lines] == [("bad id!", S)]
    assert lines[0]["reason"].startswith("unaddressable_profile: ")
    assert states(result) == [{"bookmark": 7}]


# 5. The smaller points -------------------------------------------------------------------


def test_a_guard_error_says_what_other_streams_wrote(
    two_audiences: EmulatorServer, tmp_path: Path
) -> None:
    emu = two_audiences
    v = fresh()
    events = {
        "type": "RECORD",
        "stream": "events",
        "record": {"algolia_user_id": "dave", "segment": "shoes", "event": "enter"},
    }
    cfg = config(emu, ["vip"], batch_size_rows=1, mirror_max_removals=0)
    messages = [schema("events"), events, state(1), schema(S), row("alice", version=v), activate(v)]
    result = run_cli(cfg, messages, tmp_path)
    line = one_error_line(result, "Mirror guard")
    assert "nothing was written" not in line
    assert "nothing of the plan was written, but 1 profiles of other streams' batches" in line
    assert segments_of(emu, "dave")[-1] == ("shoes", M)
    assert segments_of(emu, "bob") == VIP
    assert result.stdout == ""


def test_padded_segment_values_follow_the_trim_rule(emu: EmulatorServer, tmp_path: Path) -> None:
    load_profiles(emu, {"alice": [], "bob": VIP})
    v = fresh()
    rows = [
        row("alice", " vip ", v),
        {
            "type": "RECORD",
            "stream": S,
            "version": v,
            "record": {"algolia_user_id": "alice", "segments": ["\tgold "], "event": " Enter "},
        },
    ]
    result = run_cli(config(emu, ["vip", "gold"]), [schema(S), *rows, activate(v)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(emu, "alice") == [("gold", M), ("vip", M)]
    assert segments_of(emu, "bob") == []
    assert "rejected=0 " in summary(result)


@pytest.mark.parametrize(
    ("message", "words"),
    [
        (
            {"type": "ACTIVATE_VERSION", "stream": S},
            "ACTIVATE_VERSION without an integer 'version'",
        ),
        (
            {"type": "ACTIVATE_VERSION", "stream": S, "version": "12"},
            "ACTIVATE_VERSION without an integer 'version' (got \"12\")",
        ),
        (
            {"type": "ACTIVATE_VERSION", "stream": "other", "version": 1},
            'ACTIVATE_VERSION for stream "other", which has no SCHEMA before it',
        ),
    ],
    ids=["no-version", "string-version", "no-schema"],
)
def test_a_malformed_activate_version_is_one_line(
    emu: EmulatorServer, tmp_path: Path, message: dict, words: str
) -> None:
    load_profiles(emu, {"alice": VIP, "bob": VIP})
    result = run_cli(config(emu, ["vip"]), [schema(S), row("alice"), message, state(1)], tmp_path)
    line = one_error_line(result, words)
    assert "no STATE is emitted past it" in line
    assert result.stdout == ""
    assert segments_of(emu, "bob") == VIP


def test_the_dry_run_summary_matches_its_plan(emu: EmulatorServer, tmp_path: Path) -> None:
    load_profiles(emu, {"alice": VIP, "bob": VIP, "carol": [], "erin": [("gold", M), ("vip", M)]})
    v = fresh()
    rows = [row("alice", version=v), row("carol", "vip", v), row("carol", "gold", v)]
    rows.append(row("erin", "gold", v))
    plan = tmp_path / "plan.jsonl"
    cfg = config(emu, ["vip", "gold"], dry_run=True, mirror_plan_path=str(plan))
    result = run_cli(cfg, [schema(S), *rows, activate(v)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in plan.read_text().splitlines()]
    removed = sum(len(line["remove"]) for line in lines)
    added = sum(len(line["add"]) for line in lines)
    assert (added, removed, len(lines)) == (2, 2, 3)
    assert "segments_added=2 segments_removed=2 writes_planned=3 (dry run)" in summary(result)
    assert api_calls(emu)["puts"] == {}


# 6. Residual risks -------------------------------------------------------------------------


def test_a_classic_version_resumed_seconds_before_the_run_proves_nothing(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    # The interrupted run made its version 3 s before this target started: a
    # crash and an immediate restart. The old 10 s margin accepted it.
    users = ten_members(emu)
    resumed = int((time.time() - 3) * 1000)
    rows = [row(u, version=resumed) for u in users[5:]]  # only the rest of the table
    result = run_cli(config(emu, ["vip"]), [schema(S), *rows, activate(resumed)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert all(segments_of(emu, u) == VIP for u in users)
    assert "before this run started: a resumed sync" in result.stderr
    assert "unproven:removals_skipped:version_before_this_run" in summary(result)


def test_user_ids_that_differ_only_in_case_keep_their_segments(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    # The source upper-cased alice's ID; carol really left.
    load_profiles(emu, {"alice": VIP, "bob": VIP, "carol": VIP})
    rejects = tmp_path / "rejects.jsonl"
    v = fresh()
    cfg = config(emu, ["vip"], rejects_path=str(rejects))
    rows = [row("Alice", version=v), row("bob", version=v)]
    result = run_cli(cfg, [schema(S), *rows, activate(v), state(2)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(emu, "alice") == VIP
    assert segments_of(emu, "bob") == VIP
    assert segments_of(emu, "carol") == []
    assert "skipped=2{profile_not_found:1,user_id_case_conflict:1}" in summary(result)
    reasons = {
        json.loads(line)["reason"].split(":")[0] for line in rejects.read_text().splitlines()
    }
    assert reasons == {"profile_not_found", "user_id_case_conflict"}
    assert "differs only in letter case from member 'Alice'" in result.stderr
    assert states(result) == [{"bookmark": 2}]
