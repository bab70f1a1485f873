"""The installed command as a subprocess: --about, the summary on stderr (never the key),
periodic summaries, and one line and a non-zero exit for bad credentials or a corrupt line.
"""

from __future__ import annotations

import json
import subprocess
import typing as t

import pytest

from algolia_testkit.target_runs import (
    CLI,
    base_config,
    event,
    put_user,
    record,
    run_cli,
    schema,
    segments_of,
    state,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer


M = "meltano"


def test_about_lists_the_target_settings() -> None:
    result = subprocess.run(
        [CLI, "--about", "--format=json"], capture_output=True, text=True, check=True
    )
    about = json.loads(result.stdout)
    properties = about["settings"]["properties"]
    for name in (
        "app_id",
        "api_key",
        "region",
        "api_url",
        "user_id_field",
        "trigger_events",
        "segment_source",
        "dry_run",
        "max_requests_per_minute",
        "concurrency",
        "rejects_path",
        "batch_size_rows",
        "max_wait_seconds",
        "summary_interval_seconds",
    ):
        assert name in properties, name
    assert properties["max_requests_per_minute"]["default"] == 400
    assert properties["concurrency"]["default"] == 8
    assert properties["max_wait_seconds"]["default"] == 1.0
    assert properties["trigger_events"]["default"] == "both"
    assert properties["user_id_field"]["default"] == "algolia_user_id"
    assert properties["api_key"].get("secret") is True
    assert "load_method" not in properties


def test_run_ends_with_a_summary_on_stderr_and_never_logs_the_key(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "u1", [("vip", "crm")])
    put_user(emu, "u2", [("a", M)])
    messages = [
        schema(),
        event("u1", "shoes"),
        event("u2", "a"),
        event("u2", "b", "exit"),
        event("bad id", "x"),
        event("u1", "x", "left"),
        event("ghost", "x"),
        state(3),
    ]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"bookmark": 3}]
    summary = next(line for line in result.stderr.splitlines() if "Run summary" in line)
    for part in (
        "records=6",
        "users=3",
        "segments_added=1",
        "segments_removed=0",
        "writes=1",
        "users_unchanged=1",
        "skipped=1{profile_not_found:1}",
        "rejected=2{invalid_user_id:1,unknown_event:1}",
        "api_calls=4",  # 3 GETs (one a 404) + 1 PUT; no separate credentials call
        "retries=0",
        "rate_limited_429=0",
        "calls_per_minute=",
    ):
        assert part in summary, (part, summary)
    assert emu.api_key not in result.stderr + result.stdout
    assert 'Rejected user "bad id"' in result.stderr
    assert 'Skipped user "ghost"' in result.stderr


def test_periodic_summary_on_long_runs(emu: EmulatorServer, tmp_path: Path) -> None:
    users = [f"u{i}" for i in range(8)]
    for uid in users:
        put_user(emu, uid, [])
    emu.admin.set_latency(200)
    messages = [schema(), *[event(uid, "a") for uid in users]]
    config = base_config(emu, summary_interval_seconds=1, concurrency=1)
    result = run_cli(config, messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Progress records=") >= 1


@pytest.mark.parametrize(
    ("key", "status"), [("wrong-key", "401"), ("emulator-search-only-key", "403")]
)
@pytest.mark.parametrize(
    ("read", "mirror"),
    [("per_user", False), ("list_scan", False), ("auto", True)],
    ids=["per-user-reads", "list-scan", "mirror-scan"],
)
def test_bad_credentials_fail_at_once_with_one_line_and_no_state(
    emu: EmulatorServer, tmp_path: Path, key: str, status: str, read: str, mirror: bool
) -> None:
    # No separate credentials call: the run's first calls (8 workers at once
    # for per-user reads, the first list page for a scan or a mirror plan) are
    # refused, and the run ends in one line before anything is written.
    users = [f"u{i:02d}" for i in range(24)]
    for uid in users:
        put_user(emu, uid, [])
    stream = "members" if mirror else "audience"
    messages = [schema(stream), *[event(uid, "vip", stream=stream) for uid in users], state(1)]
    extra: dict[str, t.Any] = {"read_strategy": read, "concurrency": 8}
    if mirror:
        extra["mirror_streams"] = [{"stream": stream, "audiences": ["vip"], "count_field": "n"}]
        messages = [
            schema(stream),
            *[record({"algolia_user_id": uid, "segment": "vip", "n": 24}, stream) for uid in users],
            state(1),
        ]
    result = run_cli(base_config(emu, api_key=key, **extra), messages, tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    # Every ERROR line, not every line holding the status: a logged pid may contain "403".
    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, result.stderr[-3000:]
    assert f"{status} from Algolia" in errors[0]
    assert "Traceback" not in result.stderr
    assert "API key" in errors[0] or "ACL" in errors[0]
    assert key not in result.stderr
    assert all(segments_of(emu, uid) == [] for uid in users)
    calls = emu.admin.stats()
    assert calls["userPuts"] == {}
    # The pacer sends the run's first call alone and the refusal stops the
    # workers (usually after that one call; a worker woken by the answer may
    # still send one of its own): never a second round of calls.
    assert calls["total"] <= (8 if read == "per_user" else 1), calls


def test_corrupt_line_fails_the_run_and_no_state_passes_it(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    for i in range(6):
        put_user(emu, f"u{i}", [])
    messages: list[dict | str] = [
        schema(),
        event("u0", "a"),
        event("u1", "a"),
        state(1),
        event("u2", "a"),
        event("u3", "a"),  # batch full (4 rows): written, STATE 1 emitted
        state(2),
        '{"type": "RECORD", "stream": "audience", "record": {"algolia_user_id": "u4", ',
        event("u5", "a"),
        state(3),
    ]
    result = run_cli(base_config(emu, batch_size_rows=4), messages, tmp_path)
    assert result.returncode != 0
    states = [json.loads(line)["bookmark"] for line in result.stdout.splitlines()]
    assert states == [1]
    assert "corrupt input line" in result.stderr
    assert [segments_of(emu, f"u{i}") for i in range(6)] == [[("a", M)]] * 4 + [[], []]
