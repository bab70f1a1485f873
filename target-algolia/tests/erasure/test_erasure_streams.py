"""Erasure streams through the CLI against the emulator: DELETE, deletedUntil, guard, dry run."""

from __future__ import annotations

import json
import re
import typing as t
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algolia_emulator import SEARCH_ONLY_KEY
from algolia_testkit.target_runs import (
    api_calls,
    base_config,
    event,
    load_profiles,
    put_user,
    record,
    run_cli,
    run_in_process,
    schema,
    segments_of,
    state,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

E = "erasure_requests"
DELETE_ROUTE = "DELETE /2/users/{userID}"


def request(user: t.Any, **extra: t.Any) -> dict[str, t.Any]:
    return record({"algolia_user_id": user, "requested_at": "2026-11-01T00:00:00Z", **extra}, E)


def deletes(emu: EmulatorServer) -> int:
    return int(emu.admin.stats()["byRoute"].get(DELETE_ROUTE, 0))


def summary_line(stderr: str) -> str:
    (line,) = [x for x in stderr.splitlines() if "Run summary" in x]
    return line


def erasure_part(stderr: str) -> str:
    match = re.search(r"erasure=\{([^}]*)\}", summary_line(stderr))
    assert match, summary_line(stderr)
    return match.group(1)


def states_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_erasure_deletes_each_requested_profile_once_and_reports_deleted_until(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    for user in ("alice", "bob", "carol", "team/dave"):
        put_user(emu, user, [("vip", "crm")])
    rejects = tmp_path / "rejects.jsonl"
    config = base_config(emu, erasure_streams=[E], rejects_path=str(rejects))
    out = run_cli(
        config,
        [
            schema(),
            schema(E),
            event("bob", "shoes"),
            request("alice"),
            request("team/dave"),
            request("alice"),  # a repeated request: one DELETE
            request("not valid!"),
            request("bob", _sdc_deleted_at="2026-11-02T00:00:00Z"),  # request row deleted
            state(1),
        ],
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert emu.admin.get_user("alice") is None
    assert emu.admin.get_user("team/dave") is None
    assert segments_of(emu, "bob") == [("vip", "crm"), ("shoes", "meltano")]
    assert segments_of(emu, "carol") == [("vip", "crm")]
    assert deletes(emu) == 2
    # Each DELETE's answer is logged per user; the summary names the latest deletedUntil.
    logged = re.findall(r"Erased profile (\S+) \(deletedAt \S+, deletedUntil (\S+)\)", out.stderr)
    assert sorted(user for user, _ in logged) == ["alice", "team/dave"]
    latest = max((until for _, until in logged), key=datetime.fromisoformat)
    assert erasure_part(out.stderr) == f"erased:2,already_gone:0,deleted_until:{latest}"
    assert "rejected=1{invalid_user_id:1}" in summary_line(out.stderr)
    assert "skipped=1{erasure_request_deleted:1}" in summary_line(out.stderr)
    invalid, withdrawn = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert invalid["record"]["algolia_user_id"] == "not valid!"
    assert invalid["reason"].startswith("invalid_user_id: ")
    assert (withdrawn["record"]["algolia_user_id"], withdrawn["stream"]) == ("bob", E)
    assert withdrawn["reason"].startswith("erasure_request_deleted: ")
    assert states_of(out.stdout)[-1] == {"bookmark": 1}


def test_a_404_on_delete_means_already_gone(emu: EmulatorServer, tmp_path: Path) -> None:
    put_user(emu, "alice", [])
    put_user(emu, "gone", [])
    # Algolia may answer 404 for a profile it no longer has; the emulator answers 200.
    emu.admin.inject_status(404, method="DELETE", path_prefix="/2/users/gone")
    out = run_cli(
        base_config(emu, erasure_streams=[E]),
        [schema(E), request("alice"), request("gone"), state(7)],
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert emu.admin.get_user("alice") is None
    assert "Profile gone is already gone (404): nothing to erase" in out.stderr
    assert erasure_part(out.stderr).startswith("erased:1,already_gone:1,deleted_until:")
    assert states_of(out.stdout) == [{"bookmark": 7}]


def test_the_guard_refuses_the_whole_erasure_until_the_setting_is_raised(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    users = ["u1", "u2", "u3"]
    for user in users:
        put_user(emu, user, [])
    messages = [schema(E), *(request(u) for u in users), state(3)]
    out = run_cli(base_config(emu, erasure_streams=[E], erasure_max_profiles=2), messages, tmp_path)
    assert out.returncode == 1
    errors = [x for x in out.stderr.splitlines() if "erasure_max_profiles" in x]
    assert len(errors) == 1, out.stderr
    assert "name 3 profiles, over erasure_max_profiles=2; nothing was erased" in errors[0]
    assert "Traceback" not in out.stderr
    assert deletes(emu) == 0
    assert all(emu.admin.get_user(u) is not None for u in users)
    assert out.stdout.strip() == ""  # no STATE: the requests are replayed next run

    again = run_cli(
        base_config(emu, erasure_streams=[E], erasure_max_profiles=3), messages, tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert all(emu.admin.get_user(u) is None for u in users)
    assert deletes(emu) == 3


def test_dry_run_reports_what_would_be_erased_without_deleting(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "alice", [("vip", "crm")])
    out = run_cli(
        base_config(emu, erasure_streams=[E], dry_run=True, erasure_max_profiles=1),
        [schema(E), request("alice"), request("nobody"), state(2)],
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert deletes(emu) == 0
    assert emu.admin.get_user("alice") is not None
    assert "Dry run: would erase profile alice" in out.stderr
    assert "Dry run: profile nobody is already gone (404)" in out.stderr
    # Over the guard: a dry run says a real run would stop, and still reports.
    assert "Dry run: a real run would stop here. Erasure guard" in out.stderr
    assert erasure_part(out.stderr) == "would_erase:1,already_gone:1"


def test_a_key_without_the_acls_erases_nothing_and_emits_no_state(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "alice", [])
    out = run_cli(
        base_config(emu, erasure_streams=[E], api_key=SEARCH_ONLY_KEY),
        [schema(E), request("alice"), state(1)],
        tmp_path,
    )
    assert out.returncode == 1
    assert "403 from Algolia on DELETE /2/users/alice" in out.stderr
    assert "Traceback" not in out.stderr
    assert emu.admin.get_user("alice") is not None
    assert out.stdout.strip() == ""


def test_a_failure_after_the_retries_emits_no_state_and_the_rerun_finishes(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    for user in ("u1", "u2"):
        put_user(emu, user, [])
    emu.admin.inject_status(503, 10, method="DELETE", path_prefix="/2/users/u2")
    messages = [schema(E), request("u1"), request("u2"), state(5)]
    config = base_config(emu, erasure_streams=[E], max_retries=1, concurrency=1)
    out = run_cli(config, messages, tmp_path)
    assert out.returncode == 1
    assert emu.admin.get_user("u2") is not None
    assert out.stdout.strip() == ""
    emu.admin.clear_faults()
    again = run_cli(config, messages, tmp_path)
    assert again.returncode == 0, again.stderr
    assert emu.admin.get_user("u1") is None
    assert emu.admin.get_user("u2") is None
    assert states_of(again.stdout) == [{"bookmark": 5}]


def test_a_stream_cannot_be_both_an_erasure_and_a_mirror_stream(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    config = base_config(
        emu, erasure_streams=[E], mirror_streams=[{"stream": E, "audiences": ["vip"]}]
    )
    out = run_cli(config, [schema(E), request("alice")], tmp_path)
    assert out.returncode == 1
    assert "is in both erasure_streams and mirror_streams" in out.stderr
    assert "Traceback" not in out.stderr


# Generated requests: existing, absent and invalid IDs, repeats, withdrawn rows --------

EXISTING = ["u1", "u2", "u3", "team/u4", "a=b+c_d-e"]
#: The user-ID rule restated here, independently of algolia_api.
VALID_ID = re.compile(r"[A-Za-z0-9=+/_-]{1,129}")

user_ids = st.one_of(
    st.sampled_from([*EXISTING, "ghost", "x" * 129]),
    st.sampled_from([None, 42, "", " ", "bad id", "é", "x" * 130, "a\nb", ["u1"]]),
    st.text(max_size=8),
)
requests = st.lists(st.tuples(user_ids, st.booleans()), max_size=12)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(requests)
def test_exactly_the_valid_requested_profiles_are_deleted(
    emu: EmulatorServer, generated: list[tuple[t.Any, bool]]
) -> None:
    load_profiles(emu, {user: [("vip", "crm")] for user in [*EXISTING, "bystander"]})
    emu.admin.reset_stats()
    messages = [schema(E)]
    for user, withdrawn in generated:
        extra = {"_sdc_deleted_at": "2026-11-02T00:00:00Z"} if withdrawn else {}
        messages.append(request(user, **extra))
    # Invalid IDs are generated on purpose: an all-invalid run must not fail here.
    config = base_config(emu, erasure_streams=[E], max_rejected_fraction=1)
    run = run_in_process(config, [*messages, state(1)])
    assert run.error is None, run.error

    live = [u for u, withdrawn in generated if not withdrawn]
    wanted = {u for u in live if isinstance(u, str) and VALID_ID.fullmatch(u)}
    for user in [*EXISTING, "bystander"]:
        profile = emu.admin.get_user(user)
        if user in wanted:
            assert profile is None, user
        else:
            assert profile is not None, user
            assert profile["segments"] == [{"id": "vip", "source": "crm"}]
    assert deletes(emu) == len(wanted)
    assert api_calls(emu)["puts"] == {}  # no segment write either
    stats = run.target.run.stats
    valid_records = sum(1 for u in live if isinstance(u, str) and u in wanted)
    assert sum(stats.rejected.values()) == len(live) - valid_records
    assert stats.skipped["erasure_request_deleted"] == len(generated) - len(live)
    assert run.states == [{"bookmark": 1}]
