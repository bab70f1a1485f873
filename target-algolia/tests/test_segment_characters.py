"""Which characters a segment ID and the segment source may hold, and how spellings compare.

Any Unicode control (Cc), format (Cf), line separator (Zl) or paragraph
separator (Zp) character makes a segment ID ``invalid_segment`` and the
``segment_source`` setting invalid at start-up. IDs are never normalized: the
NFC and NFD spellings of one name are two segments, each written and removed
exactly as sent, and a segment in the other spelling is left alone.
"""

from __future__ import annotations

import json
import typing as t
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from singer_sdk.exceptions import ConfigValidationError

from algolia_testkit.target_runs import (
    api_calls,
    base_config,
    event,
    put_user,
    run_cli,
    schema,
    segments_of,
    snapshot,
)
from target_algolia.merge import segment_id_problem
from target_algolia.settings import parse_mirror_streams

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"

#: One character of each kind the issue found written as sent, and the old C0 range.
INVISIBLE = {
    "nul": "\x00",
    "delete": "\x7f",
    "c1-next-line": "\x85",
    "c1-csi": "\x9b",
    "line-separator": "\u2028",
    "paragraph-separator": "\u2029",
    "zero-width-space": "\u200b",
    "zero-width-joiner": "\u200d",
    "byte-order-mark": "\ufeff",
    "soft-hyphen": "\u00ad",
    "right-to-left-mark": "\u200f",
    "language-tag": "\U000e0001",
}
NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")


@pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())
@pytest.mark.parametrize("where", ["{}vip", "vip{}", "v{}ip"])
def test_an_invisible_character_anywhere_makes_a_segment_invalid(
    character: str, where: str
) -> None:
    problem = segment_id_problem(where.format(character))
    assert problem is not None
    assert f"U+{ord(character):04X}" in problem
    assert unicodedata.category(character) in problem


@pytest.mark.parametrize(
    "slug", ["café", NFD, "日本語", "vip 2026", "a\u00a0b", "🎉", "שלום", "ß", "\u0301accent"]
)
def test_visible_text_in_any_script_is_a_segment(slug: str) -> None:
    assert segment_id_problem(slug) is None


@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12))
def test_the_rule_is_the_four_unicode_categories(text: str) -> None:
    invisible = any(unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} for c in text)
    problem = segment_id_problem(text)
    assert (problem is not None and "invisible character" in problem) == invisible


def test_a_mirror_audience_with_an_invisible_character_is_refused() -> None:
    with pytest.raises(ConfigValidationError) as refused:
        parse_mirror_streams([{"stream": "s", "audiences": ["vip\u200b"]}])
    assert "invalid audience IDs" in str(refused.value.errors)


def test_invisible_characters_reach_no_profile(emu: EmulatorServer, tmp_path: Path) -> None:
    put_user(emu, "alice", [])
    put_user(emu, "bob", [])
    bad = [f"vip{character}" for character in INVISIBLE.values()]
    messages = [
        schema(),
        *(event("alice", slug) for slug in bad),
        snapshot("bob", ["gold", "vip\u2028"]),  # one bad ID rejects the whole snapshot
        event("alice", "gold"),
    ]
    rejects = tmp_path / "rejects.jsonl"
    config = base_config(emu, rejects_path=str(rejects), max_rejected_fraction=1)
    result = run_cli(config, messages, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert segments_of(emu, "alice") == [("gold", M)]
    assert segments_of(emu, "bob") == []
    assert f"rejected={len(bad) + 1}{{invalid_segment:{len(bad) + 1}}}" in result.stderr
    # JSON lines end at "\n"; U+2028 and \x85 may stand unescaped inside a line.
    lines = [line for line in rejects.read_text(encoding="utf-8").split("\n") if line]
    entries = [json.loads(line) for line in lines]
    assert sorted(entry["record"]["segment"] for entry in entries[:-1]) == sorted(bad)
    reasons = [entry["reason"] for entry in entries]
    assert all(reason.startswith("invalid_segment: ") for reason in reasons)
    assert "Traceback" not in result.stderr


def test_nfc_and_nfd_spellings_are_two_segments_written_as_sent(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    # An earlier run (or a tool) wrote the NFD spelling; another system owns the NFC one.
    put_user(emu, "alice", [(NFD, M), (NFC, "crm")])
    result = run_cli(base_config(emu), [schema(), event("alice", NFC)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    held = segments_of(emu, "alice")
    assert held == [(NFD, M), (NFC, "crm"), (NFC, M)]
    assert [slug.encode() for slug, _ in held] == [
        b"cafe\xcc\x81",
        b"caf\xc3\xa9",
        b"caf\xc3\xa9",
    ]
    result = run_cli(base_config(emu), [schema(), event("alice", NFC, "exit")], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    # Only the NFC segment this target manages left; the NFD one is another ID.
    assert segments_of(emu, "alice") == [(NFD, M), (NFC, "crm")]


@pytest.mark.parametrize("character", ["\u200b", "\x85", "\ufeff", "\u2029"])
def test_a_segment_source_with_an_invisible_character_is_refused_at_start_up(
    emu: EmulatorServer, tmp_path: Path, character: str
) -> None:
    put_user(emu, "alice", [])
    config = base_config(emu, segment_source=f"meltano{character}")
    result = run_cli(config, [schema(), event("alice", "vip")], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stderr
    assert "segment_source contains an invisible character" in errors[0]
    assert f"U+{ord(character):04X}" in errors[0]
    assert not any(api_calls(emu).values())  # refused before any call
    assert segments_of(emu, "alice") == []
