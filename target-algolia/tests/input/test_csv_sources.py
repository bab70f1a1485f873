"""CSV sources: every column a string, an empty cell an empty string (MeltanoLabs tap-csv).

Scenarios through the CLI with the SCHEMA and records tap-csv sends (every
property ``{"type": ["string", "null"]}``, every value a string), and property
tests of the ``segments`` string rule (target_algolia.input.source_fields): a string
is read whole, as the list it spells, or rejected with a reason.
"""

from __future__ import annotations

import json
import typing as t

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algolia_testkit.target_runs import (
    api_calls,
    base_config,
    load_profiles,
    put_user,
    record,
    run_cli,
    segments_of,
    state,
)
from target_algolia.input.source_fields import segment_list, whole_number
from target_algolia.merge import clean_text, segment_id_problem
from target_algolia.outcomes import RecordRejected

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"


def csv_schema(stream: str, *columns: str) -> dict[str, t.Any]:
    """The SCHEMA tap-csv sends: one string property per header column."""
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {
            "type": "object",
            "properties": {column: {"type": ["string", "null"]} for column in columns},
        },
        "key_properties": [],
    }


def csv_rows(stream: str, header: str, *lines: str) -> list[dict[str, t.Any]]:
    """Records as tap-csv makes them from CSV lines (no quoting needed in these)."""
    columns = header.split("|")
    return [record(dict(zip(columns, line.split("|"), strict=True)), stream) for line in lines]


def rejects(tmp_path: Path) -> list[dict[str, t.Any]]:
    path = tmp_path / "rejects.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_csv_snapshots_read_json_arrays_and_comma_lists(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    for user in ("u1", "u2", "u3", "u4", "u5", "u6"):
        put_user(emu, user, [("old", M), ("x", "crm")])
    header = "algolia_user_id|segments"
    messages = [
        csv_schema("members", "algolia_user_id", "segments"),
        *csv_rows(
            "members",
            header,
            'u1|["vip", "churn_risk"]',
            "u2|vip, churn_risk",
            "u3|[]",  # no audience: every segment we manage goes
            "u4|",  # an empty cell is absent, never "no audience"
            "u5|vip;churn_risk",  # another separator: rejected whole, not one audience
            'u6|["vip", "churn_risk"',  # cut short: rejected, nothing half-applied
        ),
        state(6),
    ]
    config = base_config(emu, rejects_path=str(tmp_path / "rejects.jsonl"))
    result = run_cli(config, messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert segments_of(emu, "u1") == [("x", "crm"), ("vip", M), ("churn_risk", M)]
    assert segments_of(emu, "u2") == [("x", "crm"), ("vip", M), ("churn_risk", M)]
    assert segments_of(emu, "u3") == [("x", "crm")]
    for untouched in ("u4", "u5", "u6"):
        assert segments_of(emu, untouched) == [("old", M), ("x", "crm")]
    reasons = {r["record"]["algolia_user_id"]: r["reason"] for r in rejects(tmp_path)}
    assert reasons["u4"].startswith("not_an_audience_record:")
    assert reasons["u5"] == (
        "invalid_segment: 'segments' 'vip;churn_risk' has a ';': separate audience IDs "
        "with commas, or send a JSON array"
    )
    assert reasons["u6"].startswith(
        "invalid_segment: 'segments' '[\"vip\", \"churn_risk\"' starts with '[' but is not "
        "a JSON array"
    )
    assert set(api_calls(emu)["puts"]) == {"u1", "u2", "u3"}


def test_a_csv_with_columns_for_both_forms_uses_the_filled_ones(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "u1", [("old", M)])
    put_user(emu, "u2", [("old", M)])
    messages = [
        csv_schema("audience", "algolia_user_id", "segment", "event", "segments"),
        *csv_rows(
            "audience",
            "algolia_user_id|segment|event|segments",
            "u1|vip|enter|",
            "u1|old|Exit|",
            "u2|||vip,shoes",
        ),
    ]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert segments_of(emu, "u1") == [("vip", M)]
    assert segments_of(emu, "u2") == [("vip", M), ("shoes", M)]


def mirror_config(emu: EmulatorServer, tmp_path: Path) -> dict[str, t.Any]:
    return base_config(
        emu,
        mirror_streams=[
            {"stream": "members", "audiences": ["vip", "churn"], "count_field": "audience_rows"}
        ],
        rejects_path=str(tmp_path / "rejects.jsonl"),
    )


def test_a_csv_mirror_reads_its_count_and_segments_from_strings(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    load_profiles(emu, {"alice": [], "bob": [], "carol": [("vip", M)], "dave": [("churn", M)]})
    messages = [
        csv_schema("members", "algolia_user_id", "segments", "audience_rows"),
        *csv_rows(
            "members",
            "algolia_user_id|segments|audience_rows",
            "alice|vip| 3",
            'bob|["vip","churn"]|3',
            "dave|churn|3",
        ),
    ]
    # carol is vip's only holder: removing her is 100 % of that audience, so the
    # per-audience fraction guard is lifted; this test is about reading strings.
    config = {**mirror_config(emu, tmp_path), "mirror_max_removal_fraction": 1}
    result = run_cli(config, messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "proven complete (audience_rows=3 matches the 3 distinct rows received)" in result.stderr
    assert segments_of(emu, "alice") == [("vip", M)]
    assert sorted(segments_of(emu, "bob")) == [("churn", M), ("vip", M)]
    assert segments_of(emu, "carol") == []  # absent from a proven membership
    assert segments_of(emu, "dave") == [("churn", M)]


@pytest.mark.parametrize(
    ("count", "words"),
    [
        ("thirty", 'audience_rows is "thirty" on its rows, not a whole number'),
        ("2.5", 'audience_rows is "2.5" on its rows, not a whole number'),
        ("", "audience_rows is missing (null or empty) on its rows, not a whole number"),
    ],
)
def test_a_count_that_is_not_a_number_says_so_and_removes_nothing(
    emu: EmulatorServer, tmp_path: Path, count: str, words: str
) -> None:
    load_profiles(emu, {"alice": [], "carol": [("vip", M)]})
    messages = [
        csv_schema("members", "algolia_user_id", "segment", "audience_rows"),
        *csv_rows("members", "algolia_user_id|segment|audience_rows", f"alice|vip|{count}"),
    ]
    result = run_cli(mirror_config(emu, tmp_path), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert words in result.stderr
    assert "but 1 rows arrived" not in result.stderr
    assert "unproven:removals_skipped:count_not_a_number" in result.stderr
    assert segments_of(emu, "alice") == [("vip", M)]  # added as a snapshot would
    assert segments_of(emu, "carol") == [("vip", M)]  # nothing removed


# The segments string rule, property-tested -----------------------------------------

#: Audience IDs that the comma-separated form can carry: no comma, ; or |, not
#: starting with [ and no surrounding spaces (clean_text would drop them).
plain_slugs = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"), blacklist_characters=",;|"
    ),
    min_size=1,
    max_size=30,
).filter(lambda s: clean_text(s) == s and s and not s.startswith("["))

#: Any audience ID a list may hold.
any_slugs = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=30,
).filter(lambda s: clean_text(s) == s and segment_id_problem(s) is None)

spaces = st.sampled_from(["", " ", "  ", "\t"])


@given(st.lists(plain_slugs, min_size=1, max_size=8), st.data())
def test_a_comma_list_reads_as_the_list_it_spells(slugs: list[str], data: st.DataObject) -> None:
    text = ",".join(data.draw(spaces) + slug + data.draw(spaces) for slug in slugs)
    assert segment_list(text) == slugs


@given(st.lists(any_slugs, max_size=8), st.booleans())
def test_a_json_array_reads_as_the_list_it_encodes(slugs: list[str], ascii_only: bool) -> None:
    assert segment_list(json.dumps(slugs, ensure_ascii=ascii_only)) == slugs


@given(st.lists(plain_slugs, min_size=1, max_size=6), st.sampled_from([";", "|"]), st.data())
def test_a_comma_list_with_another_separator_is_rejected_whole(
    slugs: list[str], separator: str, data: st.DataObject
) -> None:
    joined = ",".join(slugs)
    where = data.draw(st.integers(min_value=0, max_value=len(joined)))
    with pytest.raises(RecordRejected) as rejected:
        segment_list(joined[:where] + separator + joined[where:])
    assert rejected.value.code == "invalid_segment"
    assert f"has a {separator!r}" in rejected.value.detail


@given(st.lists(plain_slugs, min_size=1, max_size=6), spaces, st.data())
def test_a_comma_list_with_an_empty_item_is_rejected_whole(
    slugs: list[str], blank: str, data: st.DataObject
) -> None:
    where = data.draw(st.integers(min_value=0, max_value=len(slugs)))
    with pytest.raises(RecordRejected) as rejected:
        segment_list(",".join([*slugs[:where], blank, *slugs[where:]]))
    assert rejected.value.code == "invalid_segment"
    assert "empty item" in rejected.value.detail


def read(text: str) -> tuple[list[str] | None, RecordRejected | None]:
    try:
        return segment_list(text), None
    except RecordRejected as rejected:
        return None, rejected


@given(st.text(max_size=60))
def test_any_string_is_read_whole_or_rejected_never_in_part(text: str) -> None:
    slugs, rejected = read(text)
    if rejected is not None:
        assert rejected.code == "invalid_segment"
        assert rejected.detail
        return
    assert slugs is not None
    assert all(segment_id_problem(slug) is None for slug in slugs)
    stripped = clean_text(text)
    if stripped.startswith("["):
        assert slugs == [clean_text(item) for item in json.loads(stripped)]
    else:
        # Every comma separated two audiences; nothing was dropped or merged.
        assert len(slugs) == stripped.count(",") + 1
        assert [clean_text(part) for part in stripped.split(",")] == slugs


@given(st.integers(min_value=0, max_value=10**30), spaces, spaces)
def test_a_count_reads_from_a_string_of_digits(count: int, before: str, after: str) -> None:
    assert whole_number(f"{before}{count}{after}") == count
    assert whole_number(count) == count
    assert whole_number(True) is None  # a boolean is no count


@pytest.mark.parametrize("value", ["-3", "3.0", "1e3", "3 4", "٣", "0x10", "", None, 2.5, [3]])
def test_what_is_not_a_whole_number(value: t.Any) -> None:
    assert whole_number(value) is None
