"""What an adversarial pass broke in the target (issue 14), each case through the CLI
against the emulator: BATCH messages, key properties, signals in the pacer, bad
rejects paths, rates in the summary, odd segments, unsorted input."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
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
    spawn_cli,
    state,
    to_lines,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"


def summary_of(stderr: str) -> dict[str, str]:
    line = next(line for line in stderr.splitlines() if "Run summary" in line)
    pairs = (part.split("=", 1) for part in line.split("Run summary", 1)[1].split() if "=" in part)
    return dict(pairs)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR " in line or "CRITICAL" in line]


# 2. BATCH messages ------------------------------------------------------------


def batch_message(path: Path, records: list[dict], *, gzipped: bool) -> dict[str, t.Any]:
    text = "".join(json.dumps(r) + "\n" for r in records).encode()
    if gzipped:
        path.write_bytes(gzip.compress(text))
    else:
        path.write_bytes(text)
    return {
        "type": "BATCH",
        "stream": "audience",
        "encoding": {"format": "jsonl", "compression": "gzip" if gzipped else None},
        "manifest": [path.as_uri()],
    }


def test_a_batch_line_that_is_not_utf8_rejects_its_record_not_the_file(
    emulator_factory: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    emu = emulator_factory(users=0, rate_limit=100_000, rate_window=60)
    _seed(emu)
    path = tmp_path / "part-1.jsonl"
    message = batch_message(
        path,
        [
            {"algolia_user_id": "u1", "segment": "vipX", "event": "enter"},
            {"algolia_user_id": "u2", "segment": "new", "event": "enter"},
        ],
        gzipped=False,
    )
    path.write_bytes(path.read_bytes().replace(b"vipX", b"vip\xff"))
    rejects = tmp_path / "rejects.jsonl"
    result = run_cli(
        base_config(emu, rejects_path=str(rejects)), [schema(), message, state(2)], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"bookmark": 2}]
    (entry,) = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert entry["reason"].startswith("invalid_segment: segment is not valid UTF-8 text")
    assert segments_of(emu, "u1") == [("keep", "crm")]
    assert segments_of(emu, "u2") == [("old", M), ("new", M)]


def _audience_records() -> list[dict]:
    return [
        {"algolia_user_id": "u1", "segment": "vip", "event": "enter"},
        {"algolia_user_id": "u2", "segment": "old", "event": "exit"},
        {"algolia_user_id": "u2", "segment": "new", "event": "enter"},
        {"algolia_user_id": "bad id", "segment": "vip", "event": "enter"},  # rejected
        {"algolia_user_id": "u1", "segment": "x", "event": "left"},  # rejected
        {"algolia_user_id": "ghost", "segment": "vip", "event": "enter"},  # skipped: no profile
        {"algolia_user_id": "u3", "segments": ["a", "b"]},
    ]


def _seed(emu: EmulatorServer) -> None:
    put_user(emu, "u1", [("keep", "crm")])
    put_user(emu, "u2", [("old", M)])
    put_user(emu, "u3", [("gone", M)])


@pytest.mark.parametrize("gzipped", [False, True], ids=["jsonl", "jsonl-gzip"])
def test_batch_records_are_applied_exactly_like_record_messages(
    emulator_factory: t.Callable[..., EmulatorServer], tmp_path: Path, gzipped: bool
) -> None:
    outcomes = []
    for kind in ("RECORD", "BATCH"):
        emu = emulator_factory(users=0, rate_limit=100_000, rate_window=60)
        _seed(emu)
        work = tmp_path / kind
        work.mkdir()
        rejects = work / "rejects.jsonl"
        records = _audience_records()
        if kind == "RECORD":
            body: list[dict] = [record(r) for r in records]
        else:
            body = [batch_message(work / "part-1.jsonl.gz", records, gzipped=gzipped)]
        messages = [schema(), state(1), *body, state(2)]
        result = run_cli(base_config(emu, rejects_path=str(rejects)), messages, work)
        assert result.returncode == 0, result.stderr
        assert [json.loads(line) for line in result.stdout.splitlines()] == [{"bookmark": 2}]
        profiles = {uid: segments_of(emu, uid) for uid in ("u1", "u2", "u3")}
        summary = summary_of(result.stderr)
        for timing in ("calls_per_minute", "longest_wait_s"):
            summary.pop(timing)
        rejected = [
            (json.loads(line)["record"]["algolia_user_id"], json.loads(line)["reason"])
            for line in rejects.read_text().splitlines()
        ]
        outcomes.append((profiles, summary, rejected))
    record_run, batch_run = outcomes
    assert batch_run == record_run
    profiles, summary, rejected = batch_run
    assert profiles == {
        "u1": [("keep", "crm"), ("vip", M)],
        "u2": [("new", M)],
        "u3": [("a", M), ("b", M)],
    }
    assert summary["records"] == "7"
    assert summary["rejected"] == "2{invalid_user_id:1,unknown_event:1}"
    assert summary["skipped"] == "1{profile_not_found:1}"
    assert [uid for uid, _ in rejected] == ["bad id", "u1", "ghost"]


def test_a_batch_file_larger_than_the_batch_is_drained_in_batches(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    users = [f"u{i:02d}" for i in range(10)]
    for uid in users:
        put_user(emu, uid, [])
    records = [{"algolia_user_id": uid, "segment": "vip", "event": "enter"} for uid in users]
    batch = batch_message(tmp_path / "big.jsonl", records, gzipped=False)
    result = run_cli(
        base_config(emu, batch_size_rows=4), [schema(), state(1), batch, state(2)], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert all(segments_of(emu, uid) == [("vip", M)] for uid in users)
    assert json.loads(result.stdout.splitlines()[-1]) == {"bookmark": 2}
    assert summary_of(result.stderr)["records"] == "10"


def _unreadable_batches(tmp_path: Path) -> dict[str, tuple[dict, str]]:
    plain = batch_message(tmp_path / "plain.jsonl", _audience_records()[:1], gzipped=False)
    not_gzip = dict(plain, encoding={"format": "jsonl", "compression": "gzip"})
    missing = dict(plain, manifest=[(tmp_path / "nowhere.jsonl").as_uri()])
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('{"algolia_user_id": "u0", "segment": "a", "event": "enter"}\n[1, 2]\n')
    not_objects = dict(plain, manifest=[garbage.as_uri()])
    parquet = dict(plain, encoding={"format": "parquet", "compression": None})
    no_manifest = {"type": "BATCH", "stream": "audience", "encoding": {"format": "jsonl"}}
    return {
        "missing file": (missing, "does not exist"),
        "plain file declared gzip": (not_gzip, "cannot read batch file"),
        "line not an object": (not_objects, "line 2 of batch file"),
        "parquet": (parquet, "not supported"),
        "no manifest": (no_manifest, "'manifest'"),
        "unknown URL scheme": (
            dict(plain, manifest=["nosuchscheme://bucket/part.jsonl"]),
            "cannot read batch file nosuchscheme://bucket/part.jsonl",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "plain file declared gzip",
        "line not an object",
        "parquet",
        "no manifest",
        "unknown URL scheme",
    ],
)
def test_an_unreadable_batch_fails_in_one_line_with_no_state_past_it(
    emu: EmulatorServer, tmp_path: Path, case: str
) -> None:
    put_user(emu, "u0", [])
    put_user(emu, "u1", [])
    batch, expected = _unreadable_batches(tmp_path)[case]
    messages = [schema(), event("u0", "a"), state(1), batch, state(2)]
    result = run_cli(base_config(emu, batch_size_rows=1), messages, tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = error_lines(result.stderr)
    assert len(errors) == 1, errors or result.stderr[-2000:]
    assert expected in errors[0]
    assert "No STATE" in errors[0]
    bookmarks = [json.loads(line)["bookmark"] for line in result.stdout.splitlines()]
    assert 2 not in bookmarks
    assert segments_of(emu, "u0") == [("a", M)]  # the full batch before it was written
    assert segments_of(emu, "u1") == []


# 5. Key properties ------------------------------------------------------------


def test_a_record_lacking_a_declared_key_property_is_applied(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "u1", [])
    put_user(emu, "u2", [])
    keyed = dict(schema(properties={"id": {"type": "integer"}}), key_properties=["id"])
    first = event("u1", "vip")
    first["record"]["id"] = 1
    messages = [keyed, first, event("u2", "vip"), state(1)]  # the second has no "id"
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"bookmark": 1}]
    assert segments_of(emu, "u1") == [("vip", M)]
    assert segments_of(emu, "u2") == [("vip", M)]
    assert summary_of(result.stderr)["writes"] == "2"


# 8. Signals while waiting ----------------------------------------------------


@pytest.fixture
def started() -> t.Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end is killed."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _start_writing(
    started: list[subprocess.Popen[str]],
    emu: EmulatorServer,
    tmp_path: Path,
    users: int,
    **config: t.Any,
) -> subprocess.Popen[str]:
    messages: list[dict | str] = [schema()]
    for n in range(users):
        put_user(emu, f"u{n:02d}", [])
        messages += [event(f"u{n:02d}", "vip"), state(n)]
    input_path = tmp_path / "input.jsonl"
    input_path.write_text(to_lines(messages))
    with input_path.open() as stdin:
        proc = spawn_cli(base_config(emu, **config), tmp_path, stdin=stdin)
    started.append(proc)
    return proc


def _wait_for_calls(emu: EmulatorServer, calls: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while emu.admin.stats()["total"] < calls:
        assert time.monotonic() < deadline, emu.admin.stats()
        time.sleep(0.05)


def _stop_and_measure(
    proc: subprocess.Popen[str], emu: EmulatorServer, signum: int
) -> tuple[float, str, str]:
    sent_before = emu.admin.stats()["total"]
    signalled_at = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - signalled_at
    time.sleep(1.0)  # a request started late would reach the emulator by now
    assert emu.admin.stats()["total"] == sent_before, "a request was sent after the stop"
    return elapsed, out, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_waiting_in_the_pacer_stops_at_once_without_requests(
    emulator_factory: t.Callable[..., EmulatorServer],
    tmp_path: Path,
    started: list[subprocess.Popen[str]],
    signum: int,
) -> None:
    # 12 calls per 60 s window: the 13th waits in the pacer for most of a minute.
    emu = emulator_factory(users=0, rate_limit=12, rate_window=60)
    proc = _start_writing(started, emu, tmp_path, users=30, concurrency=2)
    _wait_for_calls(emu, 12)
    time.sleep(0.5)
    assert proc.poll() is None  # still running: waiting for the window
    assert emu.admin.stats()["rateLimited"] == 0  # waiting in the pacer, not in a retry
    elapsed, out, err = _stop_and_measure(proc, emu, signum)
    assert proc.returncode != 0
    assert out == ""  # no STATE: the batch was not written
    assert "stopping without STATE" in err
    assert "Traceback" not in err
    assert elapsed < 4, f"took {elapsed:.1f} s to stop"


def test_a_signal_during_a_long_retry_wait_exits_within_seconds(
    emu: EmulatorServer, tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    emu.admin.inject_status(429, count=4, method="PUT", retry_after=30)
    proc = _start_writing(started, emu, tmp_path, users=6, concurrency=2)
    deadline = time.monotonic() + 20
    while emu.admin.stats()["rateLimited"] < 2:
        assert time.monotonic() < deadline, emu.admin.stats()
        time.sleep(0.05)
    time.sleep(0.5)  # both workers now sleep 30 s before their retry
    elapsed, out, _ = _stop_and_measure(proc, emu, signal.SIGTERM)
    assert proc.returncode != 0
    assert out == ""
    assert elapsed < 8, f"took {elapsed:.1f} s to stop"


# 9. Rejects path --------------------------------------------------------------


@pytest.mark.parametrize("case", ["a directory", "inside a file"])
def test_an_unwritable_rejects_path_fails_in_one_line_before_any_call(
    emu: EmulatorServer, tmp_path: Path, case: str
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    path = {"a directory": tmp_path, "inside a file": a_file / "rejects.jsonl"}[case]
    put_user(emu, "u1", [])
    messages = [schema(), event("u1", "vip"), state(1)]
    result = run_cli(base_config(emu, rejects_path=str(path)), messages, tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = error_lines(result.stderr)
    assert len(errors) == 1, errors or result.stderr[-2000:]
    assert f"rejects_path {str(path)!r} cannot be written" in errors[0]
    assert "set it to a file path" in errors[0]
    assert result.stdout == ""
    assert emu.admin.stats()["total"] == 0  # not even the credentials check


def test_a_tilde_in_rejects_path_is_the_home_directory(emu: EmulatorServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    config_path = work / "config.json"
    # Its only record is rejected: max_rejected_fraction=1 keeps the run from failing.
    config = base_config(emu, rejects_path="~/rejects/out.jsonl", max_rejected_fraction=1)
    config_path.write_text(json.dumps(config))
    result = subprocess.run(
        [CLI, "--config", str(config_path)],
        input=to_lines([schema(), event("bad id", "vip"), state(1)]),
        capture_output=True,
        text=True,
        cwd=work,
        env={**os.environ, "HOME": str(home)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = (home / "rejects" / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["record"]["algolia_user_id"] for line in lines] == ["bad id"]
    assert not (work / "~").exists()


# 12. Small things -------------------------------------------------------------


def test_calls_per_minute_is_a_real_count_not_an_extrapolation(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    users = [f"u{i:02d}" for i in range(30)]
    for uid in users:
        put_user(emu, uid, [])
    messages = [schema(), *[event(uid, "vip") for uid in users], state(1)]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    summary = summary_of(result.stderr)
    # 30 GETs + 30 PUTs, all well inside one minute: the busiest minute saw
    # exactly those calls (the old extrapolation said thousands).
    assert summary["api_calls"] == "60"
    assert summary["calls_per_minute"] == "60"


@pytest.mark.parametrize(
    "segment", ["   ", "\t\n", "vip\x00", "\x00"], ids=["blank", "whitespace", "nul-in", "nul"]
)
def test_blank_or_nul_segments_are_rejected_like_such_event_values(
    emu: EmulatorServer, tmp_path: Path, segment: str
) -> None:
    put_user(emu, "u1", [("vip", M)])
    put_user(emu, "u2", [])
    messages = [
        schema(),
        event("u1", segment, "enter"),
        record({"algolia_user_id": "u1", "segments": [segment]}),
        event("u1", "vip", "exit\x00"),
        event("u1", "vip", "   "),
        event("u2", "ok"),
        state(1),
    ]
    # Four of five records are rejected: max_rejected_fraction=1 keeps the run from failing.
    result = run_cli(base_config(emu, max_rejected_fraction=1), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    summary = summary_of(result.stderr)
    assert summary["rejected"] == "4{invalid_segment:2,unknown_event:2}", summary
    assert segments_of(emu, "u1") == [("vip", M)]  # never written as is, nothing removed
    assert segments_of(emu, "u2") == [("ok", M)]
    assert emu.admin.stats()["userPuts"] == {"u2": 1}


def test_segments_and_events_are_trimmed_alike(emu: EmulatorServer, tmp_path: Path) -> None:
    put_user(emu, "u1", [("old", M)])
    messages = [
        schema(),
        event("u1", "  vip ", " Enter "),
        event("u1", "old\t", "exit"),
        record({"algolia_user_id": "u2", "segments": [" a", "a "]}),
        state(1),
    ]
    put_user(emu, "u2", [])
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert segments_of(emu, "u1") == [("vip", M)]
    assert segments_of(emu, "u2") == [("a", M)]


# 11. Unsorted input -------------------------------------------------------------


@pytest.mark.parametrize("order", ["unsorted", "grouped by user"])
def test_the_summary_counts_users_read_in_several_batches(
    emu: EmulatorServer, tmp_path: Path, order: str
) -> None:
    for uid in ("u0", "u1", "u2"):
        put_user(emu, uid, [])
    rows = [("u0", "a"), ("u1", "a"), ("u0", "b"), ("u1", "b"), ("u2", "a"), ("u0", "c")]
    if order == "grouped by user":
        rows.sort(key=lambda row: row[0])
    messages = [schema(), *[event(uid, slug) for uid, slug in rows], state(1)]
    result = run_cli(base_config(emu, batch_size_rows=2), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    summary = summary_of(result.stderr)
    gets = sum(emu.admin.stats()["userGets"].values())
    # Every read beyond the first of a user is one the summary must own up to.
    assert int(summary["repeat_reads"]) == gets - 3
    if order == "unsorted":
        # Batches {u0, u1} {u0, u1} {u2, u0}: u0 and u1 are read again, u0 twice.
        assert gets == 6
        assert summary["users_in_several_batches"] == "2"
        assert summary["repeat_reads"] == "3"
    else:
        # Batches {u0} {u0, u1} {u1, u2}: users are split only at batch edges.
        assert gets == 5
        assert summary["users_in_several_batches"] == "2"
        assert summary["repeat_reads"] == "2"
    assert [segments_of(emu, uid) for uid in ("u0", "u1", "u2")] == [
        [("a", M), ("b", M), ("c", M)],
        [("a", M), ("b", M)],
        [("a", M)],
    ]
