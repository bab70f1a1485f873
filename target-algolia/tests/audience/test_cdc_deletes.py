"""Rows deleted at the source (``_sdc_deleted_at`` set) are exits, through the CLI.

The records are shaped as MeltanoLabs tap-postgres sends a LOG_BASED stream
(wal2json): the SCHEMA declares ``_sdc_deleted_at`` and ``_sdc_lsn``, an
inserted or updated row carries ``_sdc_deleted_at: null``, a deleted row the
time of the delete and only the columns of the table's replica identity.
"""

from __future__ import annotations

import json
import typing as t

from algolia_testkit.target_runs import (
    api_calls,
    base_config,
    load_profiles,
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
CDC = "public-audience_memberships"
DELETED = "2026-10-02T09:30:00.123456+00:00"
LOG_BASED_SCHEMA = {
    "algolia_user_id": {"type": ["string", "null"]},
    "segment": {"type": ["string", "null"]},
    "_sdc_deleted_at": {"type": ["string", "null"]},
    "_sdc_lsn": {"type": ["integer", "null"]},
}


def row(user: t.Any, slug: t.Any, *, deleted: bool = False, lsn: int = 1, **extra: t.Any) -> dict:
    return record(
        {
            "algolia_user_id": user,
            "segment": slug,
            "_sdc_deleted_at": DELETED if deleted else None,
            "_sdc_lsn": lsn,
            **extra,
        },
        CDC,
    )


def summary_of(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if "Run summary" in line)


def test_log_based_rows_enter_and_deleted_rows_exit_at_two_calls_per_user(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "alice", [])
    put_user(emu, "bob", [("vip", "crm"), ("vip", M), ("shoes", M)])
    put_user(emu, "carol", [])
    put_user(emu, "dave", [("vip", M)])
    put_user(emu, "erin", [("vip", M)])
    messages = [
        schema(CDC, LOG_BASED_SCHEMA),
        row("alice", "vip", lsn=10),  # inserted: an entry without any event column
        row("bob", "vip", deleted=True, lsn=11),  # deleted: our vip goes, crm's stays
        row("carol", "vip", lsn=12),
        row("carol", "vip", deleted=True, lsn=13),  # in and out within the batch
        row("dave", "vip", deleted=True, lsn=14),
        row("dave", "vip", lsn=15),  # deleted, then inserted again: in
        row("erin", "vip", lsn=16),  # already there: nothing to write
        state({"lsn": 16}),
    ]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert segments_of(emu, "alice") == [("vip", M)]
    assert segments_of(emu, "bob") == [("vip", "crm"), ("shoes", M)]
    assert segments_of(emu, "carol") == []
    assert segments_of(emu, "dave") == [("vip", M)]
    assert segments_of(emu, "erin") == [("vip", M)]
    calls = api_calls(emu)
    assert calls["list"] == 0
    assert calls["gets"] == dict.fromkeys(["alice", "bob", "carol", "dave", "erin"], 1)
    assert calls["puts"] == {"alice": 1, "bob": 1}
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"bookmark": {"lsn": 16}}]
    assert "rejected=0" in summary_of(result.stderr)


def test_a_deleted_event_or_snapshot_row_exits_the_audiences_it_names(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """Any stream, declared or not: the delete wins over what the row said."""
    put_user(emu, "u1", [("vip", M), ("churn", M)])
    put_user(emu, "u2", [("vip", M), ("churn", M), ("shoes", M)])
    put_user(emu, "u3", [])
    messages = [
        schema("events"),
        # An "enter" row deleted upstream (a soft-deleting loader sets the column).
        record(
            {
                "algolia_user_id": "u1",
                "segment": "vip",
                "event": "enter",
                "_sdc_deleted_at": DELETED,
            },
            "events",
        ),
        # A snapshot row deleted: exits what it listed, nothing else.
        record(
            {"algolia_user_id": "u2", "segments": ["vip", "churn"], "_sdc_deleted_at": DELETED},
            "events",
        ),
        # Not deleted (null or an empty CSV cell): the row means what it says.
        record(
            {"algolia_user_id": "u3", "segment": "vip", "event": "enter", "_sdc_deleted_at": ""},
            "events",
        ),
        record(
            {"algolia_user_id": "u3", "segment": "a", "event": "enter", "_sdc_deleted_at": None},
            "events",
        ),
    ]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert segments_of(emu, "u1") == [("churn", M)]
    assert segments_of(emu, "u2") == [("shoes", M)]
    assert segments_of(emu, "u3") == [("vip", M), ("a", M)]


def test_a_row_without_event_is_an_entry_only_in_a_stream_that_declares_deletes(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "u1", [])
    messages = [
        schema("plain", {"algolia_user_id": {"type": "string"}, "segment": {"type": "string"}}),
        record({"algolia_user_id": "u1", "segment": "vip"}, "plain"),
        schema(CDC, LOG_BASED_SCHEMA),
        row("u1", "shoes"),
    ]
    config = base_config(emu, rejects_path=str(tmp_path / "rejects.jsonl"))
    result = run_cli(config, messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert segments_of(emu, "u1") == [("shoes", M)]
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [(r["stream"], r["reason"].split(":")[0]) for r in rejects] == [
        ("plain", "unknown_event")
    ]


def test_a_deleted_row_without_its_columns_is_rejected_with_the_fix(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """A delete whose replica identity is a surrogate key carries only that key."""
    put_user(emu, "u1", [("vip", M)])
    messages = [
        schema(CDC, {**LOG_BASED_SCHEMA, "id": {"type": ["integer", "null"]}}),
        record(
            {"id": 7, "algolia_user_id": None, "segment": None, "_sdc_deleted_at": DELETED}, CDC
        ),
        record({"algolia_user_id": "u1", "segment": None, "_sdc_deleted_at": DELETED}, CDC),
        row("u1", "shoes"),
        row("u1", "more"),
        row("u1", "again"),
    ]
    config = base_config(emu, rejects_path=str(tmp_path / "rejects.jsonl"))
    result = run_cli(config, messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert segments_of(emu, "u1") == [("vip", M), ("shoes", M), ("more", M), ("again", M)]
    reasons = [
        json.loads(line)["reason"] for line in (tmp_path / "rejects.jsonl").read_text().splitlines()
    ]
    assert reasons[0].startswith("invalid_user_id: missing user ID in field 'algolia_user_id'")
    assert reasons[1].startswith("not_an_audience_record: a deleted row must carry")
    assert all("REPLICA IDENTITY FULL" in reason for reason in reasons)


def test_deletes_with_record_metadata_and_with_entry_only_trigger(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "u1", [("vip", M)])
    put_user(emu, "u2", [("vip", M)])
    messages = [schema(CDC, LOG_BASED_SCHEMA), row("u1", "vip", deleted=True)]
    # add_record_metadata makes singer-sdk copy the metadata fields itself.
    result = run_cli(base_config(emu, add_record_metadata=True), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert segments_of(emu, "u1") == []
    # trigger_events: entry never removes, a delete included.
    messages = [schema(CDC, LOG_BASED_SCHEMA), row("u2", "vip", deleted=True)]
    result = run_cli(base_config(emu, trigger_events="entry"), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert segments_of(emu, "u2") == [("vip", M)]
    assert "filtered_by_trigger:1" in summary_of(result.stderr)


def test_a_deleted_row_of_a_mirror_stream_is_not_a_member(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """A soft-deleted table read FULL_TABLE: the deleted row counts as a row, not a member."""
    load_profiles(emu, {"alice": [], "bob": [("vip", M)], "carol": [("vip", M)]})
    stream = "public-audience_members"
    config = base_config(
        emu,
        mirror_streams=[{"stream": stream, "audiences": ["vip"], "count_field": "rows"}],
    )
    messages = [
        schema(stream),
        record({"algolia_user_id": "alice", "segment": "vip", "rows": 3}, stream),
        record(
            {"algolia_user_id": "bob", "segment": "vip", "rows": 3, "_sdc_deleted_at": DELETED},
            stream,
        ),
        record({"algolia_user_id": "carol", "segment": "vip", "rows": 3}, stream),
    ]
    result = run_cli(config, messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "proven complete (rows=3 matches the 3 distinct rows received)" in result.stderr
    assert segments_of(emu, "alice") == [("vip", M)]
    assert segments_of(emu, "bob") == []
    assert segments_of(emu, "carol") == [("vip", M)]
