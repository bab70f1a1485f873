"""A record nested too deep to read costs only itself: rejected as too_deep, STATE moves on.

A record whose arrays and objects nest more than 200 levels (an ignored field
1,000 deep, say) used to end the run with a RecursionError traceback and no
STATE, on every rerun. Now it is rejected with the reason ``too_deep``: counted
in the summary, written to the rejects file (its deep part cut), and the
records around it are written. Any other message nested that deep stops the run
with one line.
"""

from __future__ import annotations

import gzip
import json
import typing as t

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from singer_sdk.singerlib.exceptions import InvalidInputLine

from algolia_testkit.target_runs import (
    base_config,
    event,
    put_user,
    run_cli,
    schema,
    segments_of,
)
from target_algolia.input.batch_files import batch_records
from target_algolia.input.depth import (
    CUT_MARK,
    MAX_RECORD_DEPTH,
    cut_below,
    decode_record_line,
    nesting_depth,
    refuse_cut_record,
)
from target_algolia.mirror.membership import Membership
from target_algolia.numbers import decode_json
from target_algolia.outcomes import RecordRejected
from target_algolia.settings import MirrorStream

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"


def nested(levels: int, inner: str = '"x"') -> str:
    """JSON text of arrays nested ``levels`` deep around ``inner``."""
    return "[" * levels + inner + "]" * levels


def record_line(user: str, junk: str, slug: str = "vip") -> str:
    """A RECORD line (built as text: json.dumps itself cannot nest this deep)."""
    fields = f'"algolia_user_id": "{user}", "segment": "{slug}", "event": "enter"'
    return (
        '{"type": "RECORD", "stream": "audience", "record": {' + fields + ', "junk": ' + junk + "}}"
    )


def depth_of(value: t.Any) -> int:
    """Reference depth of a decoded value: arrays and objects count one level each."""
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\,:ab', max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=4), children, max_size=3)
    ),
    max_leaves=40,
)


@given(json_values)
@settings(max_examples=300)
def test_depth_is_counted_on_brackets_outside_strings(value: t.Any) -> None:
    assert nesting_depth(json.dumps(value)) == depth_of(value)


@given(json_values, st.integers(min_value=0, max_value=6))
@settings(max_examples=300)
def test_a_cut_text_is_json_no_deeper_than_the_cut(value: t.Any, levels: int) -> None:
    cut = json.loads(cut_below(json.dumps(value), levels))
    assert depth_of(cut) <= levels
    if depth_of(value) <= levels:
        assert cut == value  # nothing that deep: nothing cut


def test_a_record_at_the_limit_is_read_whole_and_one_past_it_is_cut() -> None:
    # The record object is level 1, "junk" holds the remaining levels.
    at_limit = decode_record_line(record_line("a", nested(MAX_RECORD_DEPTH - 1)), decode_json)
    assert depth_of(at_limit["record"]) == MAX_RECORD_DEPTH
    assert refuse_cut_record(at_limit["record"]) is None
    past = decode_record_line(record_line("a", nested(MAX_RECORD_DEPTH)), decode_json)
    assert past["record"]["algolia_user_id"] == "a"
    with pytest.raises(RecordRejected) as rejected:
        refuse_cut_record(past["record"])
    assert rejected.value.code == "too_deep"
    assert f"{MAX_RECORD_DEPTH + 1} levels deep" in rejected.value.detail
    assert CUT_MARK in json.dumps(past["record"])


def test_brackets_inside_strings_do_not_make_a_record_deep() -> None:
    text = json.dumps("[{" * 5000 + '\\"')
    value = decode_record_line(record_line("a", text), decode_json)
    assert refuse_cut_record(value["record"]) is None


@pytest.mark.parametrize(
    "line",
    [
        '{"type": "STATE", "value": {"bookmark": ' + nested(5000) + "}}",
        '{"type": "SCHEMA", "stream": "s", "schema": ' + nested(300, "{}") + "}",
    ],
    ids=["state", "schema"],
)
def test_another_message_nested_too_deep_is_one_clear_error(line: str) -> None:
    with pytest.raises(InvalidInputLine, match="levels deep; at most 201 are read"):
        decode_record_line(line, decode_json)


def test_a_cut_row_of_a_mirror_stream_leaves_it_unproven() -> None:
    membership = Membership(MirrorStream("members", frozenset({"vip"})), "algolia_user_id")
    value = decode_record_line(record_line("a", nested(1000)), decode_json)
    with pytest.raises(RecordRejected, match="1001 levels deep"):
        membership.add_record(value["record"])
    assert not membership.proof().proven
    assert membership.proof().missing == "rejected_records"


def test_a_batch_file_record_nested_too_deep_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl.gz"
    good = '{"algolia_user_id": "a", "segment": "vip", "event": "enter"}'
    deep = '{"algolia_user_id": "b", "segment": "vip", "event": "enter", "j": ' + nested(1000) + "}"
    path.write_bytes(gzip.compress(f"{good}\n{deep}\n".encode()))
    message = {
        "type": "BATCH",
        "stream": "audience",
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": [path.as_uri()],
    }
    first, second = batch_records(message)
    assert refuse_cut_record(first) is None
    assert second["algolia_user_id"] == "b"
    with pytest.raises(RecordRejected, match="1001 levels deep"):
        refuse_cut_record(second)


def test_a_record_nested_1000_deep_costs_only_itself(emu: EmulatorServer, tmp_path: Path) -> None:
    for user in ("alice", "bob", "carol", "dave"):
        put_user(emu, user, [])
    rejects = tmp_path / "rejects.jsonl"
    messages = [
        schema(),
        event("alice", "vip"),
        record_line("bob", nested(1000)),
        record_line("carol", nested(MAX_RECORD_DEPTH - 1)),  # at the limit: read and applied
        event("dave", "vip"),
        '{"type": "STATE", "value": {"bookmark": 1}}',
    ]
    config = base_config(emu, rejects_path=str(rejects))
    for _ in range(2):  # a rerun of the same input passes the same way
        result = run_cli(config, messages, tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        assert result.stdout.splitlines()[-1] == '{"bookmark":1}'
        assert "rejected=1{too_deep:1}" in result.stderr
    assert segments_of(emu, "alice") == [("vip", M)]
    assert segments_of(emu, "bob") == []
    assert segments_of(emu, "carol") == [("vip", M)]
    assert segments_of(emu, "dave") == [("vip", M)]
    entries = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [entry["record"]["algolia_user_id"] for entry in entries] == ["bob", "bob"]
    assert entries[0]["reason"].startswith("too_deep: record nests arrays and objects 1001")
    assert CUT_MARK in json.dumps(entries[0]["record"]["junk"])
    assert entries[0]["stream"] == "audience"


def test_a_state_nested_too_deep_stops_in_one_line(emu: EmulatorServer, tmp_path: Path) -> None:
    put_user(emu, "alice", [])
    line = '{"type": "STATE", "value": {"bookmark": ' + nested(600) + "}}"
    result = run_cli(base_config(emu), [schema(), event("alice", "vip"), line], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "a STATE line nests arrays and objects 602 levels deep" in result.stderr
    assert result.stdout == ""


def test_an_erasure_request_nested_too_deep_is_rejected_not_applied(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    for user in ("alice", "bob"):
        put_user(emu, user, [("vip", "crm")])
    stream = "erasure_requests"
    deep = '{"algolia_user_id": "bob", "note": ' + nested(1000) + "}"
    messages = [
        schema(stream),
        json.dumps({"type": "RECORD", "stream": stream, "record": {"algolia_user_id": "alice"}}),
        '{"type": "RECORD", "stream": "' + stream + '", "record": ' + deep + "}",
        '{"type": "STATE", "value": {"bookmark": 1}}',
    ]
    config = base_config(emu, erasure_streams=[stream], max_rejected_fraction=1)
    result = run_cli(config, messages, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rejected=1{too_deep:1}" in result.stderr
    assert emu.admin.get_user("alice") is None  # erased
    assert segments_of(emu, "bob") == [("vip", "crm")]  # its request was not read whole
    assert json.loads(result.stdout.splitlines()[-1]) == {"bookmark": 1}
