"""The target's bad-input catalogue: every malformed input tried, and what it gets.

Each row is one test and one line of the table in docs/reliability.md:

* rejected: the record is counted under a reason code, written to the rejects
  file, never sent to Algolia, and the run goes on (a good record after it is
  still written and the final STATE is emitted);
* applied: odd but valid input that is applied as documented;
* failed: the run stops with a non-zero exit and one error line that names the
  problem, and no STATE is emitted past the bad line.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit import target_runs as tk

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"


def rec(**fields: t.Any) -> dict[str, t.Any]:
    return tk.record(fields)


@dataclass(frozen=True)
class Rejected:
    name: str
    bad: dict[str, t.Any]
    code: str


REJECTED = [
    Rejected("user-id-integer", tk.event(42, "vip"), "invalid_user_id"),
    Rejected("user-id-null", tk.event(None, "vip"), "invalid_user_id"),
    Rejected("user-id-list", tk.event(["u1"], "vip"), "invalid_user_id"),
    Rejected("user-id-boolean", tk.event(True, "vip"), "invalid_user_id"),
    Rejected("user-id-missing", rec(segment="vip", event="enter"), "invalid_user_id"),
    Rejected("user-id-empty", tk.event("", "vip"), "invalid_user_id"),
    Rejected("user-id-130-chars", tk.event("u" * 130, "vip"), "invalid_user_id"),
    Rejected("user-id-dot-dot", tk.event("..", "vip"), "invalid_user_id"),
    Rejected("user-id-percent-2F", tk.event("a%2Fb", "vip"), "invalid_user_id"),
    Rejected("user-id-question-mark", tk.event("u1?x=1", "vip"), "invalid_user_id"),
    Rejected("user-id-hash", tk.event("u1#frag", "vip"), "invalid_user_id"),
    Rejected("user-id-space", tk.event("u 1", "vip"), "invalid_user_id"),
    Rejected("user-id-unicode", tk.event("ünïcode", "vip"), "invalid_user_id"),
    Rejected("user-id-newline", tk.event("u1\nINFO fake log line", "vip"), "invalid_user_id"),
    Rejected("segment-integer", tk.event("u1", 7), "invalid_segment"),
    Rejected("segment-object", tk.event("u1", {"id": "vip"}), "invalid_segment"),
    Rejected("segment-missing", rec(algolia_user_id="u1", event="enter"), "invalid_segment"),
    Rejected("segment-empty", tk.event("u1", ""), "invalid_segment"),
    Rejected("segment-257-chars", tk.event("u1", "s" * 257), "invalid_segment"),
    Rejected("segments-an-object", tk.snapshot("u1", {"vip": True}), "invalid_segment"),
    Rejected("segments-a-number", tk.snapshot("u1", 7), "invalid_segment"),
    Rejected("segments-string-bad-json", tk.snapshot("u1", '["vip"'), "invalid_segment"),
    Rejected("segments-string-semicolons", tk.snapshot("u1", "vip;churn"), "invalid_segment"),
    Rejected("segments-string-empty-item", tk.snapshot("u1", "vip,,churn"), "invalid_segment"),
    Rejected("segments-string-only-spaces", tk.snapshot("u1", "  "), "invalid_segment"),
    Rejected("segments-with-a-number", tk.snapshot("u1", ["vip", 3]), "invalid_segment"),
    Rejected("event-missing", rec(algolia_user_id="u1", segment="vip"), "unknown_event"),
    Rejected("event-unknown", tk.event("u1", "vip", "joined"), "unknown_event"),
    Rejected("event-not-a-string", tk.event("u1", "vip", 1), "unknown_event"),
    Rejected("no-audience-fields", rec(algolia_user_id="u1", email="x"), "not_an_audience_record"),
    Rejected(
        "event-and-snapshot-together",
        rec(algolia_user_id="u1", segment="vip", event="enter", segments=["vip"]),
        "ambiguous_record",
    ),
]


@pytest.mark.parametrize("row", REJECTED, ids=[r.name for r in REJECTED])
def test_rejected_and_counted(row: Rejected, emu: EmulatorServer, tmp_path: Path) -> None:
    tk.put_user(emu, "u1", [])
    tk.put_user(emu, "good", [])
    rejects = tmp_path / "rejects.jsonl"
    config = kit.target_config(emu, rejects_path=str(rejects))
    messages = [tk.schema(), row.bad, tk.event("good", "after"), tk.state(1)]
    run = tk.run_in_process(config, messages)
    assert run.error is None, run.error
    assert run.states == [{"bookmark": 1}]
    assert run.target.run.stats.rejected == {row.code: 1}
    (line,) = rejects.read_text().splitlines()
    kit.capture(line)
    assert json.loads(line)["reason"].startswith(row.code + ":")
    assert json.loads(line)["record"] == row.bad["record"]
    assert tk.segments_of(emu, "u1") == []
    assert tk.segments_of(emu, "good") == [("after", M)]
    # Only the good user was ever read or written.
    assert set(emu.admin.stats()["userPuts"]) == {"good"}


def test_profile_that_does_not_exist_is_skipped_and_counted(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    tk.put_user(emu, "good", [])
    rejects = tmp_path / "rejects.jsonl"
    config = kit.target_config(emu, rejects_path=str(rejects))
    messages = [tk.schema(), tk.event("ghost", "vip"), tk.event("good", "a"), tk.state(1)]
    run = tk.run_in_process(config, messages)
    assert run.error is None
    assert run.states == [{"bookmark": 1}]
    assert run.target.run.stats.skipped == {"profile_not_found": 1}
    assert "profile_not_found" in rejects.read_text()
    assert emu.admin.get_user("ghost") is None  # never created
    assert tk.segments_of(emu, "good") == [("a", M)]


# Odd but valid input -----------------------------------------------------------------


def test_repeated_events_are_applied_once(emu: EmulatorServer) -> None:
    tk.put_user(emu, "u1", [("vip", "crm")])
    messages = [tk.schema(), *[tk.event("u1", "a")] * 5, tk.event("u1", "b", "exit"), tk.state(1)]
    run = tk.run_in_process(kit.target_config(emu), messages)
    assert run.error is None
    assert tk.segments_of(emu, "u1") == [("vip", "crm"), ("a", M)]
    assert emu.admin.stats()["userPuts"] == {"u1": 1}
    # The same input again writes nothing.
    emu.admin.reset_stats()
    assert tk.run_in_process(kit.target_config(emu), messages).error is None
    assert emu.admin.stats()["userPuts"] == {}


def test_event_names_ignore_case_and_spaces(emu: EmulatorServer) -> None:
    tk.put_user(emu, "u1", [("gone", M)])
    messages = [tk.schema(), tk.event("u1", "a", " ENTER "), tk.event("u1", "gone", "Exit")]
    assert tk.run_in_process(kit.target_config(emu), messages).error is None
    assert tk.segments_of(emu, "u1") == [("a", M)]


def test_huge_batch_for_one_user_is_one_read_and_one_write(emu: EmulatorServer) -> None:
    tk.put_user(emu, "whale", [("vip", "crm")])
    messages: list[dict] = [tk.schema()]
    for n in range(20_000):
        slug = f"seg-{n % 500}"
        messages.append(tk.event("whale", slug, "exit" if n % 7 == 0 else "enter"))
    messages.append(tk.state("end"))
    run = tk.run_in_process(kit.target_config(emu), messages)
    assert run.error is None
    assert run.states == [{"bookmark": "end"}]
    # The last event of each slug decides; n % 7 == 0 for the last n of a slug
    # happens for the slugs whose last index (19500 + slug) is a multiple of 7.
    last = {f"seg-{n % 500}": n for n in range(20_000)}
    present = [s for s, n in last.items() if n % 7 != 0]
    got = tk.segments_of(emu, "whale")
    assert got[0] == ("vip", "crm")
    assert sorted(got[1:]) == sorted((s, M) for s in present)
    # 20,000 rows are two batches of 10,000 (the SDK default): one read and one write each.
    assert emu.admin.stats()["userPuts"] == {"whale": 2}
    assert emu.admin.stats()["userGets"] == {"whale": 2}


def test_empty_stream_is_a_clean_no_op(emu: EmulatorServer, tmp_path: Path) -> None:
    result = tk.run_cli(kit.target_config(emu), [], tmp_path)
    kit.capture(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert emu.admin.stats()["total"] == 0  # not even a credentials check


def test_state_only_stream_passes_the_state_through(emu: EmulatorServer) -> None:
    run = tk.run_in_process(kit.target_config(emu), [tk.schema(), tk.state(7)])
    assert run.error is None
    assert run.states == [{"bookmark": 7}]


# Input that stops the run ------------------------------------------------------------


@dataclass(frozen=True)
class Failed:
    name: str
    line: t.Any  # a message dict or a raw line
    message: str


FAILED = [
    Failed("non-json-line", "this is not json", "Unable to parse line as JSON"),
    Failed("truncated-json-line", '{"type": "RECORD", "stream": "audience", ', "Unable to parse"),
    Failed("blank-line", "", "Unable to parse line as JSON"),
    Failed("json-number-line", "42", "not a JSON object"),
    Failed("json-array-line", "[1, 2]", "not a JSON object"),
    Failed("message-without-type", {"stream": "audience"}, "missing required type"),
    Failed("unknown-message-type", {"type": "BOGUS", "stream": "audience"}, "BOGUS"),
    Failed(
        "record-without-stream",
        {"type": "RECORD", "record": {"algolia_user_id": "u1"}},
        "missing required stream",
    ),
    Failed("record-not-an-object", tk.record([1, 2]), "not a JSON object"),  # type: ignore[arg-type]
    Failed("record-before-schema", tk.event("u1", "vip", stream="other"), "before a corresponding"),
]


@pytest.mark.parametrize("row", FAILED, ids=[r.name for r in FAILED])
def test_fails_with_one_clear_line_and_no_state_past_it(
    row: Failed, emu: EmulatorServer, tmp_path: Path
) -> None:
    for uid in ("u0", "u1", "u2"):
        tk.put_user(emu, uid, [])
    messages: list[t.Any] = [
        tk.schema(),
        tk.event("u0", "before"),
        tk.state(0),  # batch of 2 rows is full here: u0 written, STATE 0 may be emitted
        row.line,
        tk.event("u2", "after"),
        tk.state(2),
    ]
    config = kit.target_config(emu, batch_size_rows=1)
    result = tk.run_cli(config, messages, tmp_path)
    kit.capture(result.stdout, result.stderr)
    kit.assert_clean_failure(result.returncode, result.stderr, row.message)
    states = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert states in ([], [{"bookmark": 0}]), states
    assert tk.segments_of(emu, "u2") == []


# Input bytes that are not UTF-8 (issue 20) ---------------------------------------------


NOT_UTF8_LINES = {
    # byte \xff in a segment, a Latin-1 byte in a user ID, a JSON lone surrogate escape
    "segment": (
        b'{"algolia_user_id": "u1", "segment": "vip\xff", "event": "enter"}',
        "invalid_segment",
    ),
    "user-id": (
        b'{"algolia_user_id": "u\xe91", "segment": "a", "event": "enter"}',
        "invalid_user_id",
    ),
    "escape": (
        b'{"algolia_user_id": "u1", "segment": "vip\\ud800", "event": "enter"}',
        "invalid_segment",
    ),
    "snapshot": (b'{"algolia_user_id": "u1", "segments": ["ok", "b\xc3"]}', "invalid_segment"),
}


@pytest.mark.parametrize("errors", ["strict", "surrogateescape"])
def test_input_that_is_not_utf8_rejects_the_record_with_its_reason(
    errors: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    import os
    import subprocess

    tk.put_user(emu, "u1", [("vip", "crm")])
    tk.put_user(emu, "good", [])
    rejects = tmp_path / "rejects.jsonl"
    # Four of the five records are rejected on purpose: lift the reject bound.
    settings = kit.target_config(emu, rejects_path=str(rejects), max_rejected_fraction=1)
    config = tk.write_config(settings, tmp_path)
    lines = [json.dumps(tk.schema()).encode()]
    for line, _code in NOT_UTF8_LINES.values():
        lines.append(b'{"type": "RECORD", "stream": "audience", "record": ' + line + b"}")
    lines += [json.dumps(tk.event("good", "after")).encode(), json.dumps(tk.state(1)).encode()]
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": f"utf-8:{errors}"}
    done = subprocess.run(
        [tk.CLI, "--config", str(config)],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    stdout, stderr = done.stdout.decode(), done.stderr.decode("utf-8", "replace")
    kit.capture(stdout, stderr)

    assert done.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    assert [json.loads(s) for s in stdout.splitlines()] == [{"bookmark": 1}]
    entries = [json.loads(s) for s in rejects.read_text(encoding="utf-8").splitlines()]
    kit.capture(*map(json.dumps, entries))
    assert [e["reason"].split(":")[0] for e in entries] == [c for _l, c in NOT_UTF8_LINES.values()]
    assert all("not valid UTF-8" in e["reason"] for e in entries), entries
    summary = [line for line in stderr.splitlines() if "records=" in line][-1]
    assert "invalid_segment:3" in summary
    assert "invalid_user_id:1" in summary
    # Nothing holding such text was sent: only the good user was written.
    assert emu.admin.stats()["userPuts"] == {"good": 1}
    assert tk.segments_of(emu, "u1") == [("vip", "crm")]
    assert tk.segments_of(emu, "good") == [("after", M)]
