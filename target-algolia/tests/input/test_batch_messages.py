"""BATCH messages through the CLI against the emulator: each record of a BATCH file takes
the RECORD path (maps, rejects, the batch-size drain), and a file that cannot be read
stops the run in one line with no STATE past it.
"""

from __future__ import annotations

import gzip
import json
import typing as t

import pytest

from algolia_testkit.reliability import error_lines
from algolia_testkit.target_runs import (
    base_config,
    event,
    put_user,
    record,
    run_cli,
    schema,
    segments_of,
    state,
    summary_fields,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer


M = "meltano"


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
        summary = summary_fields(result.stderr)
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
    assert summary_fields(result.stderr)["records"] == "10"


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
