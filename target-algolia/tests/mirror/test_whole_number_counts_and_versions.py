"""A whole number is read as one however the input spells it, and shown as it was spelled.

singer-sdk reads ``3.0`` and ``3e0`` as Decimal. A mirror stream's count_field
of ``3``, ``3.0``, ``3e0`` or ``"3"`` proves three rows; a version (a RECORD's
or an ACTIVATE_VERSION's) sent as a whole number with a fraction is that
integer. Messages quote such values as JSON, as they were written, never as a
Python repr such as ``Decimal('3.0')``.
"""

from __future__ import annotations

import json
import time
import typing as t
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algolia_testkit.target_runs import base_config, load_profiles, run_cli, schema, segments_of
from target_algolia.input.source_fields import whole_number
from target_algolia.numbers import decode_json, shown

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"
S = "members"


@pytest.mark.parametrize("text", ["3", "3.0", "3e0", "3.000", "0.3e1", "300e-2", '"3"', '" 3 "'])
def test_each_spelling_of_three_is_three(text: str) -> None:
    assert whole_number(decode_json(text)) == 3


@pytest.mark.parametrize(
    "text", ["3.5", "true", '"3.0"', '"-3"', "null", "[3]", "1e999999999", "NaN", "Infinity"]
)
def test_what_is_not_a_whole_number(text: str) -> None:
    assert whole_number(decode_json(text)) is None


def test_a_version_is_never_read_from_text() -> None:
    assert whole_number(decode_json('"1700000000"'), text=False) is None
    assert whole_number(decode_json("1.7e9"), text=False) == 1_700_000_000


@given(st.integers(min_value=-(10**40), max_value=10**40), st.integers(0, 5))
def test_any_integer_written_with_zeros_after_the_point_is_itself(number: int, zeros: int) -> None:
    assert (
        whole_number(decode_json(f"{number}.{'0' * zeros}" if zeros else f"{number}e0")) == number
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("3.0"), "3.0"),
        (Decimal("1E+400"), "1E+400"),
        ("3", '"3"'),
        (None, "null"),
        ([Decimal("2.50"), True], "[2.50,true]"),
        ("a\u2028b\x85", '"a\\u2028b\\u0085"'),
    ],
)
def test_values_are_shown_as_json(value: t.Any, text: str) -> None:
    assert shown(value) == text


def rows(count: str, users: t.Sequence[str], version: str | None = None) -> list[str]:
    """Mirror rows as text lines: the count and version spelled exactly as given."""
    lines = []
    for user in users:
        fields = f'"algolia_user_id": "{user}", "segment": "vip", "n": {count}'
        message = f'"type": "RECORD", "stream": "{S}", "record": {{{fields}}}'
        if version is not None:
            message += f', "version": {version}'
        lines.append("{" + message + "}")
    return lines


def mirror(emu: EmulatorServer, count_field: str | None = "n") -> dict[str, t.Any]:
    stream: dict[str, t.Any] = {"stream": S, "audiences": ["vip"]}
    if count_field:
        stream["count_field"] = count_field
    return base_config(emu, mirror_streams=[stream], mirror_max_removal_fraction=1)


@pytest.mark.parametrize("count", ["3", "3.0", "3e0", '"3"'])
def test_a_count_of_three_in_any_spelling_proves_three_rows(
    emu: EmulatorServer, tmp_path: Path, count: str
) -> None:
    load_profiles(emu, {u: [("vip", M)] for u in ("alice", "bob", "carol", "gone")})
    result = run_cli(mirror(emu), [schema(S), *rows(count, ["alice", "bob", "carol"])], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "proven complete (n=3 matches the 3 distinct rows received)" in result.stderr
    assert segments_of(emu, "gone") == []  # absent from a proven membership
    assert segments_of(emu, "alice") == [("vip", M)]


def test_a_count_with_a_fraction_is_quoted_as_written(emu: EmulatorServer, tmp_path: Path) -> None:
    load_profiles(emu, {u: [("vip", M)] for u in ("alice", "gone")})
    result = run_cli(mirror(emu), [schema(S), *rows("1.50", ["alice"])], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "n is 1.50 on its rows, not a whole number" in result.stderr
    assert "Decimal(" not in result.stderr
    assert segments_of(emu, "gone") == [("vip", M)]  # nothing removed


def test_a_version_with_a_fraction_proves_as_its_integer(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    load_profiles(emu, {u: [("vip", M)] for u in ("alice", "gone")})
    version = f"{int(time.time())}.0"  # a sync-start time, sent as a float
    activate = json.dumps({"type": "ACTIVATE_VERSION", "stream": S}).rstrip("}")
    messages = [
        schema(S),
        *rows("1", ["alice"], version=version),
        activate + f', "version": {version}}}',
    ]
    result = run_cli(mirror(emu, count_field=None), messages, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"proven complete (ACTIVATE_VERSION {version[:-2]} after its records)" in (result.stderr)
    assert segments_of(emu, "gone") == []


def test_versions_that_differ_are_quoted_as_written(emu: EmulatorServer, tmp_path: Path) -> None:
    load_profiles(emu, {u: [("vip", M)] for u in ("alice", "bob", "gone")})
    now = int(time.time())
    messages = [
        schema(S),
        *rows("1", ["alice"], version=f"{now}.5"),
        *rows("1", ["bob"], version=str(now)),
    ]
    result = run_cli(mirror(emu, count_field=None), messages, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"records carry 2 versions ({now}, {now}.5)" in result.stderr
    assert "Decimal(" not in result.stderr
    assert segments_of(emu, "gone") == [("vip", M)]
