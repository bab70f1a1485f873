"""Fields of an audience record through the CLI: declared key properties are not required,
blank or NUL segments are rejected like such event values, and segments and events are
trimmed alike.
"""

from __future__ import annotations

import json
import typing as t

import pytest

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
    assert summary_fields(result.stderr)["writes"] == "2"


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
    summary = summary_fields(result.stderr)
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
