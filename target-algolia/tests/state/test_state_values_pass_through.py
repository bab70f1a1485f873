"""An upstream STATE passes through the target unchanged, whatever JSON values it holds.

singer-sdk reads a JSON number with a fraction or exponent as a Decimal; the
target writes each STATE back with every number as it was read: a float stays a
float with the same value, an integer of any size stays the same integer, and
no rerun of the same input fails. Checked on the reader and the STATE writer in
process with many generated STATEs, and through the installed CLI.
"""

from __future__ import annotations

import json
import math
import sys
import typing as t
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from algolia_testkit.target_runs import base_config, event, put_user, run_cli, schema, segments_of
from target_algolia.input.reader import AudienceMessageReader
from target_algolia.numbers import json_text

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"

#: Every value a Singer STATE may hold: JSON (finite numbers; integers unbounded).
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    # Any text, lone surrogates (a "\ud800" escape) included.
    | st.text(st.characters(exclude_categories=()), max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=()), max_size=8), children, max_size=4
        )
    ),
    max_leaves=30,
)
states = st.dictionaries(st.text(max_size=10), json_values, max_size=6)
#: An empty STATE says nothing to resume from: singer-sdk emits none, nor does the target.
nonempty_states = st.dictionaries(st.text(max_size=10), json_values, min_size=1, max_size=12)


@pytest.fixture(autouse=True)
def long_integers() -> Iterator[None]:
    """Let this test process read back integers longer than 4,300 digits."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    yield
    sys.set_int_max_str_digits(before)


def same_json(sent: t.Any, back: t.Any) -> bool:
    """Equal as JSON, with the same number types (1.0 is not 1) and signs of zero."""
    if type(sent) is not type(back):
        return False
    if isinstance(sent, dict):
        return sent.keys() == back.keys() and all(same_json(sent[k], back[k]) for k in sent)
    if isinstance(sent, list):
        return len(sent) == len(back) and all(map(same_json, sent, back))
    if isinstance(sent, float):
        return sent == back and math.copysign(1, sent) == math.copysign(1, back)
    return bool(sent == back)


def through_reader_and_writer(line: str) -> str:
    """The STATE line the target writes for the STATE ``line`` it reads."""
    message = AudienceMessageReader().deserialize_json(line)
    return json_text(message["value"])


@given(states)
@settings(max_examples=400, deadline=None)
@example({"replication_key_value": 1700000000.5})
@example({"big": 10**5000, "negative": -(10**4400) - 7, "zero": -0.0, "tiny": 5e-324})
@example({"bookmarks": {"s": {"replication_key_value": 1.7976931348623157e308}}})
def test_any_state_is_written_back_as_read(value: dict[str, t.Any]) -> None:
    written = through_reader_and_writer(json.dumps({"type": "STATE", "value": value}))
    assert same_json(value, json.loads(written)), written


@pytest.mark.parametrize(
    "number",
    [
        "1700000000.5",
        "1E400",
        "-1e-400",
        "0.1000000000000000055511151231257827",
        "-0",
        "3.0",
        "7e0",
    ],
)
def test_a_number_comes_back_digit_for_digit(number: str) -> None:
    """Numbers past a float's range or precision come back as the same decimal number."""
    written = through_reader_and_writer(f'{{"type": "STATE", "value": {{"v": {number}}}}}')
    back = json.loads(written, parse_float=Decimal)["v"]
    sent = json.loads(number, parse_float=Decimal)
    assert type(back) is type(sent)
    assert back == sent


def test_a_state_written_by_the_target_is_one_line_of_json() -> None:
    """Line and paragraph separators in a STATE string never break the STATE line."""
    written = through_reader_and_writer(json.dumps({"type": "STATE", "value": {"k": "a\u2028b\n"}}))
    assert len(written.splitlines()) == 1
    assert json.loads(written) == {"k": "a\u2028b\n"}


def _state_line(value: dict[str, t.Any]) -> str:
    return json.dumps({"type": "STATE", "value": value})


def test_a_float_bookmark_after_writes_passes_through_every_rerun(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """The issue's case: a tap keyed on epoch seconds; the target wrote, then crashed."""
    put_user(emu, "alice", [])
    bookmark = '{"audience": {"replication_key_value": 1700000000.5}}'
    line = '{"type": "STATE", "value": {"bookmarks": ' + bookmark + "}}"
    for _ in range(2):  # a rerun reads the same input and must pass too
        result = run_cli(base_config(emu), [schema(), event("alice", "vip"), line], tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        assert result.stdout.splitlines()[-1] == (
            '{"bookmarks":{"audience":{"replication_key_value":1700000000.5}}}'
        )
    assert segments_of(emu, "alice") == [("vip", M)]


@given(value=nonempty_states)
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(value={"big": 10**4500 + 1, "float": 1700000000.5, "int": 1700000000, "exp": 1e300})
def test_any_state_passes_through_the_cli_unchanged(
    emu: EmulatorServer, tmp_path: Path, value: dict[str, t.Any]
) -> None:
    put_user(emu, "alice", [])
    messages = [schema(), event("alice", "vip"), _state_line(value)]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    emitted = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert emitted, result.stderr[-2000:]
    assert same_json(value, emitted[-1]), result.stdout[-2000:]
