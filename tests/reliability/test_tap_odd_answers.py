"""Odd API answers never crash the tap, and every record it emits fits its schema.

Each case serves one odd profile between two good ones (over real HTTP, from
the emulator) and runs the tap's CLI. A value that can be read safely is read
and counted; a profile that cannot be represented is skipped, and named with
its userID and the reason in one warning line and in the end-of-run summary.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit import tap_runs

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer


@dataclass(frozen=True)
class Odd:
    name: str
    changes: dict[str, t.Any]  # applied to a good profile with userID "odd"
    reason: str  # in the skip line; "" when the profile must be read, not skipped


def _affinity(**changes: t.Any) -> list[dict[str, t.Any]]:
    return [{**tap_runs.good_profile("x")["affinities"][0], **changes}]


SKIPPED = [
    Odd("lastUpdatedAt is a word", {"lastUpdatedAt": "yesterday"}, "lastUpdatedAt 'yesterday'"),
    Odd(
        "lastUpdatedAt is a number",
        {"lastUpdatedAt": 1700000000},
        "lastUpdatedAt is a number, not a string",
    ),
    Odd(
        "lastUpdatedAt out of range, canonical spelling",
        {"lastUpdatedAt": "2026-13-45T99:99:99.000000Z"},
        "is not an RFC 3339 date-time",
    ),
    # Offsets outside RFC 3339 used to shift the instant; the bookmark reader
    # refuses the same ones (test_tap_unusable_state_files): one parser, algolia_api.timestamps.
    *(
        Odd(
            f"lastUpdatedAt with the offset {offset}",
            {"lastUpdatedAt": f"2026-11-02T10:00:00.000000{offset}"},
            f"lastUpdatedAt '2026-11-02T10:00:00.000000{offset}' is not an RFC 3339 date-time",
        )
        for offset in ("+99:99", "+24:00", "-00:60")
    ),
    Odd(
        "affinity lastUpdatedAt with the offset +24:00",
        {"affinities": _affinity(lastUpdatedAt="2026-11-02T10:00:00+24:00")},
        "affinity lastUpdatedAt '2026-11-02T10:00:00+24:00' is not an RFC 3339 date-time",
    ),
    Odd("lastUpdatedAt missing", {"lastUpdatedAt": None}, "lastUpdatedAt is missing"),
    Odd("userID missing", {"userID": None}, "userID is None"),
    Odd("userID a number", {"userID": 42}, "userID is 42"),
    Odd(
        "affinity lastUpdatedAt is a word",
        {"affinities": _affinity(lastUpdatedAt="nope")},
        "affinity lastUpdatedAt 'nope'",
    ),
    Odd(
        "affinities an object",
        {"affinities": {"brand": "Nike"}},
        "affinities is an object, not a list",
    ),
    Odd(
        "affinity name a list",
        {"affinities": _affinity(name=["brand"])},
        "affinity name is a list, not a string",
    ),
    Odd("affinity score a word", {"affinities": _affinity(score="high")}, "score 'high'"),
    Odd("affinity score a boolean", {"affinities": _affinity(score=True)}, "score True"),
    Odd(
        "affinity a string",
        {"affinities": ["brand:Nike"]},
        "an affinity is a string, not an object",
    ),
    Odd("segments a string", {"segments": "vip"}, "segments is a string, not a list"),
    Odd(
        "segments a list of strings",
        {"segments": ["vip"]},
        "a segment is a string, not an {id, source} object",
    ),
    Odd("segment without a source", {"segments": [{"id": "vip"}]}, "segment's source is None"),
    Odd("type a number", {"type": 3}, "type is a number, not a string"),
]


def _serve(server: EmulatorServer, odd: dict[str, t.Any]) -> None:
    server.admin.upsert_user(tap_runs.good_profile("a-good"))
    server.admin.upsert_user(tap_runs.good_profile("z-good"))
    tap_runs.serve_as_is(server, "odd", odd)


def _odd_profile(changes: dict[str, t.Any]) -> dict[str, t.Any]:
    profile = {**tap_runs.good_profile("odd"), **changes}
    return {key: value for key, value in profile.items() if value is not None}


@pytest.mark.parametrize("case", SKIPPED, ids=[c.name for c in SKIPPED])
def test_an_unrepresentable_profile_is_skipped_named_and_counted(
    case: Odd, emu: EmulatorServer, tmp_path: Path
) -> None:
    _serve(emu, _odd_profile(case.changes))
    run = kit.run_tap(kit.tap_config(emu), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert tap_runs.assert_records_match_schema(run.messages) == 2
    ids = [m["record"]["userID"] for m in run.messages if m["type"] == "RECORD"]
    assert ids == ["a-good", "z-good"]
    named = "'odd'" if isinstance(case.changes.get("userID", "odd"), str) else "<missing>"
    skips = tap_runs.log_lines(run.stderr, "Skipped profile")
    assert len(skips) == 1, skips
    assert f"userID={named}" in skips[0]
    assert case.reason in skips[0], skips[0]
    summary = tap_runs.log_lines(run.stderr, "Sync summary")
    assert len(summary) == 1, summary
    assert "2 records emitted, 1 profiles skipped" in summary[0]
    assert f"{named}: " in summary[0]
    assert case.reason in summary[0]
    assert kit.tap_bookmarks(run), "a skipped profile must not stop the bookmark"


def test_a_numeric_string_score_is_read_and_counted(emu: EmulatorServer, tmp_path: Path) -> None:
    _serve(emu, _odd_profile({"affinities": _affinity(score="5", name="color", value="red")}))
    run = kit.run_tap(kit.tap_config(emu), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert tap_runs.assert_records_match_schema(run.messages) == 3
    odd = next(m["record"] for m in run.messages if m.get("record", {}).get("userID") == "odd")
    assert odd["affinities"][0]["score"] == 5
    assert odd["algolia_affinities_name_score"] == {"color": 5}
    assert odd["algolia_affinities_value_score"] == {"red": 5}
    summary = tap_runs.log_lines(run.stderr, "Sync summary")
    assert "3 records emitted, 0 profiles skipped" in summary[0]
    assert "affinity score sent as a numeric string: 1" in summary[0]


def test_a_profile_that_is_not_an_object_is_skipped(emu: EmulatorServer, tmp_path: Path) -> None:
    _serve(emu, ["not", "a", "profile"])
    run = kit.run_tap(kit.tap_config(emu), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert tap_runs.assert_records_match_schema(run.messages) == 2
    assert "the profile is a list, not an object" in tap_runs.log_lines(run.stderr, "Skipped")[0]


def test_odd_values_in_deselected_fields_cost_nothing(emu: EmulatorServer, tmp_path: Path) -> None:
    # Only the keys and the segment IDs are selected: odd affinities are not emitted.
    _serve(emu, _odd_profile({"affinities": {"brand": "Nike"}}))
    config = kit.tap_config(emu)
    catalog = kit.write_catalog(config, tmp_path, keep=lambda name: name == "algolia_segment_ids")
    run = kit.run_tap(config, tmp_path, "--catalog", str(catalog))
    assert run.returncode == 0, run.stderr[-3000:]
    assert tap_runs.assert_records_match_schema(run.messages) == 3
    assert not tap_runs.log_lines(run.stderr, "Skipped")


def test_a_score_beyond_float_range_costs_one_profile_not_the_page(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    # 1e400 is valid JSON but no float: it used to make the whole page
    # "malformed", retried until the sync failed, every hour.
    raw = json.dumps(_odd_profile({"affinities": _affinity(score=12345)})).replace("12345", "1e400")
    _serve(emu, raw.encode())
    run = kit.run_tap(kit.tap_config(emu), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert tap_runs.assert_records_match_schema(run.messages) == 2
    skips = tap_runs.log_lines(run.stderr, "Skipped profile")
    assert len(skips) == 1
    assert "userID='odd'" in skips[0]
    assert "affinity score inf is out of range" in skips[0]
    assert emu.admin.stats()["total"] == 1  # no retry


UNDECODABLE = {
    "lone-surrogate-escape-in-a-segment": (b'"vip"', b'"\\ud800"', "segments[0].id"),
    "lone-low-surrogate-in-an-affinity": (b'"Nike"', b'"Ni\\udc00ke"', "affinities[0].value"),
    "byte-not-utf8-in-the-type": (b'"basic"', b'"bas\xffic"', "type"),
}


@pytest.mark.parametrize("case", list(UNDECODABLE), ids=list(UNDECODABLE))
def test_a_profile_that_is_not_valid_unicode_is_skipped_named_and_counted(
    case: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    # msgspec refuses the whole page for one such string: it used to fail the
    # page after its retries, and so every later sync of the application.
    old, new, where = UNDECODABLE[case]
    raw = json.dumps(_odd_profile({})).encode()
    assert old in raw
    _serve(emu, raw.replace(old, new, 1))
    first = kit.run_tap(kit.tap_config(emu), tmp_path)

    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr
    assert tap_runs.assert_records_match_schema(first.messages) == 2
    skips = tap_runs.log_lines(first.stderr, "Skipped profile")
    assert len(skips) == 1, skips
    assert "WARNING" in skips[0]
    assert "userID='odd'" in skips[0]
    assert f"{where} holds text that is not valid Unicode" in skips[0]
    summary = tap_runs.log_lines(first.stderr, "Sync summary")
    assert "2 records emitted, 1 profiles skipped" in summary[0]
    assert emu.admin.stats()["total"] == 1  # not retried: the page was read
    (bookmark,) = set(kit.tap_bookmarks(first))

    # The next sync starts from that bookmark and reads the window as usual.
    second = kit.run_tap(kit.tap_config(emu), tmp_path, state=kit.bookmark_state(bookmark))
    assert second.returncode == 0, second.stderr[-3000:]


def test_a_user_id_that_is_not_valid_unicode_is_named_escaped(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    raw = json.dumps(_odd_profile({})).encode().replace(b'"odd"', b'"o\\udfffdd"', 1)
    _serve(emu, raw)
    run = kit.run_tap(kit.tap_config(emu), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    (skip,) = tap_runs.log_lines(run.stderr, "Skipped profile")
    assert "userID='o\\udfffdd'" in skip  # the repr: one line, ASCII, no raw surrogate
    assert "userID holds text that is not valid Unicode" in skip
