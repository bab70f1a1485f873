"""The pure merge rules: examples with hand-written expectations, then properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_algolia.merge import (
    Action,
    Change,
    EventKind,
    Trigger,
    apply_change,
    diff_segments,
    event_operation,
    parse_event,
    reduce_changes,
    segment_id_problem,
    snapshot_operation,
)

SRC = "meltano"
BOTH = Trigger.BOTH


def seg(slug: str, source: str = SRC) -> dict[str, str]:
    return {"id": slug, "source": source}


def enter(slug: str, trigger: Trigger = BOTH) -> Change | None:
    return event_operation(slug, EventKind.ENTER, trigger)


def leave(slug: str, trigger: Trigger = BOTH) -> Change | None:
    return event_operation(slug, EventKind.EXIT, trigger)


def run(current: list[dict[str, str]], *ops: Change | None) -> list[dict[str, str]]:
    return apply_change(current, reduce_changes(op for op in ops if op is not None), SRC)


# -- examples -----------------------------------------------------------------


def test_entry_appends_at_the_end_and_keeps_order() -> None:
    current = [seg("vip", "crm"), seg("a")]
    assert run(current, enter("b")) == [seg("vip", "crm"), seg("a"), seg("b")]


def test_entry_of_present_segment_changes_nothing() -> None:
    current = [seg("a"), seg("vip", "crm")]
    assert run(current, enter("a")) == [seg("a"), seg("vip", "crm")]


def test_exit_removes_only_our_source() -> None:
    current = [seg("vip", "crm"), seg("vip"), seg("x", "cdp")]
    assert run(current, leave("vip")) == [seg("vip", "crm"), seg("x", "cdp")]


def test_exit_of_other_sources_segment_keeps_it() -> None:
    current = [seg("vip", "crm")]
    assert run(current, leave("vip")) == [seg("vip", "crm")]


def test_events_reduce_in_input_order() -> None:
    assert run([], enter("a"), leave("a")) == []
    assert run([seg("a")], leave("a"), enter("a")) == [seg("a")]
    assert run([], enter("a"), enter("b"), leave("a"), enter("c")) == [seg("b"), seg("c")]


def test_new_segments_follow_the_order_of_their_last_entry() -> None:
    assert run([], leave("a"), enter("b"), enter("a")) == [seg("b"), seg("a")]
    assert run([], enter("a"), enter("b"), enter("a")) == [seg("b"), seg("a")]
    assert run([], enter("a"), snapshot_operation(["b", "a"], BOTH)) == [seg("b"), seg("a")]
    # Segments already on the profile never move.
    assert run([seg("a")], enter("b"), leave("a"), enter("a")) == [seg("a"), seg("b")]


def test_snapshot_adds_missing_and_removes_unlisted_managed_only() -> None:
    current = [seg("old"), seg("vip", "crm"), seg("keep"), seg("old", "cdp")]
    result = run(current, snapshot_operation(["new", "keep"], BOTH))
    assert result == [seg("vip", "crm"), seg("keep"), seg("old", "cdp"), seg("new")]


def test_snapshot_deduplicates_its_list() -> None:
    assert run([], snapshot_operation(["a", "b", "a"], BOTH)) == [seg("a"), seg("b")]


def test_empty_snapshot_removes_every_managed_segment() -> None:
    current = [seg("a"), seg("vip", "crm"), seg("b")]
    assert run(current, snapshot_operation([], BOTH)) == [seg("vip", "crm")]


def test_snapshot_entry_only_adds_but_never_removes() -> None:
    current = [seg("old")]
    assert run(current, snapshot_operation(["new"], Trigger.ENTRY)) == [seg("old"), seg("new")]


def test_snapshot_exit_only_removes_but_never_adds() -> None:
    current = [seg("old"), seg("kept")]
    assert run(current, snapshot_operation(["kept", "new"], Trigger.EXIT)) == [seg("kept")]


def test_exit_only_snapshot_does_not_undo_an_earlier_exit_in_the_batch() -> None:
    current = [seg("a"), seg("b")]
    ops = (leave("a"), snapshot_operation(["a", "b"], Trigger.EXIT))
    assert run(current, *ops) == [seg("b")]


def test_event_after_snapshot_wins() -> None:
    current = [seg("a")]
    # Net effect: "a" ends present, so it stays where it was (no churn).
    assert run(current, snapshot_operation(["b"], BOTH), enter("a")) == [seg("a"), seg("b")]
    assert run(current, snapshot_operation(["a"], BOTH), leave("a")) == []


def test_trigger_filters_events() -> None:
    assert enter("a", Trigger.EXIT) is None
    assert leave("a", Trigger.ENTRY) is None
    assert enter("a", Trigger.ENTRY) == Change({"a": Action.ADD})
    assert leave("a", Trigger.EXIT) == Change({"a": Action.REMOVE})


def test_duplicate_pairs_on_the_profile_collapse_to_the_first() -> None:
    current = [seg("a"), seg("vip", "crm"), seg("a"), seg("vip", "crm")]
    assert run(current, enter("b")) == [seg("a"), seg("vip", "crm"), seg("b")]


def test_segments_with_extra_fields_from_other_sources_are_untouched() -> None:
    odd = {"id": "x", "source": "crm", "note": "kept"}
    assert run([odd], enter("a")) == [odd, seg("a")]


def test_no_change_leaves_list_equal() -> None:
    current = [seg("vip", "crm"), seg("a")]
    assert run(current) == current
    assert reduce_changes([]).is_noop


def test_diff_reports_managed_changes_only() -> None:
    before = [seg("a"), seg("vip", "crm"), seg("b")]
    after = [seg("vip", "crm"), seg("b"), seg("c")]
    diff = diff_segments(before, after, SRC)
    assert diff.added == ("c",)
    assert diff.removed == ("a",)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "missing"),
        (7, "not a string"),
        ("", "empty"),
        ("x" * 257, "257 characters"),
    ],
)
def test_segment_id_problems(value: object, problem: str) -> None:
    found = segment_id_problem(value)
    assert found is not None
    assert problem in found


def test_segment_id_limits_accepted() -> None:
    assert segment_id_problem("x") is None
    assert segment_id_problem("x" * 256) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("enter", EventKind.ENTER),
        ("exit", EventKind.EXIT),
        ("ENTER", EventKind.ENTER),
        (" Exit ", EventKind.EXIT),
        ("entered", None),
        ("", None),
        (None, None),
        (1, None),
    ],
)
def test_parse_event(raw: object, expected: EventKind | None) -> None:
    assert parse_event(raw) is expected


# -- properties ---------------------------------------------------------------

slugs = st.sampled_from(["a", "b", "c", "vip", "shoes"])
sources = st.sampled_from(["meltano", "crm", "cdp"])
segments = st.lists(st.builds(seg, slugs, sources), max_size=8)
triggers = st.sampled_from(list(Trigger))


@st.composite
def operations(draw: st.DrawFn) -> list[Change]:
    trigger = draw(triggers)
    ops: list[Change] = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.integers(0, 4)) == 0:
            ops.append(snapshot_operation(draw(st.lists(slugs, max_size=4)), trigger))
        else:
            kind = draw(st.sampled_from(list(EventKind)))
            op = event_operation(draw(slugs), kind, trigger)
            if op is not None:
                ops.append(op)
    return ops


def others(segs: list[dict[str, str]]) -> list[dict[str, str]]:
    firsts: list[dict[str, str]] = []
    for s in segs:
        if s["source"] != SRC and s not in firsts:
            firsts.append(s)
    return firsts


@settings(max_examples=300, deadline=None)
@given(segments, operations())
def test_other_sources_always_survive_in_order(current: list, ops: list[Change]) -> None:
    result = apply_change(current, reduce_changes(ops), SRC)
    assert others(result) == others(current)


@settings(max_examples=300, deadline=None)
@given(segments, operations())
def test_applying_the_same_events_twice_changes_nothing_more(current: list, ops: list) -> None:
    once = apply_change(current, reduce_changes(ops), SRC)
    assert apply_change(once, reduce_changes(ops), SRC) == once
    # And replaying the input within one batch (at-least-once redelivery).
    assert reduce_changes(ops + ops) == reduce_changes(ops)
    assert apply_change(current, reduce_changes(ops + ops), SRC) == once


@settings(max_examples=300, deadline=None)
@given(segments, slugs)
def test_entry_then_exit_of_absent_segment_is_a_no_op(current: list, slug: str) -> None:
    current = [s for s in current if not (s["id"] == slug and s["source"] == SRC)]
    deduped: list[dict[str, str]] = []
    for s in current:
        if s not in deduped:
            deduped.append(s)
    result = apply_change(deduped, reduce_changes([enter(slug), leave(slug)]), SRC)  # type: ignore[list-item]
    assert result == deduped


@settings(max_examples=300, deadline=None)
@given(segments, operations())
def test_result_is_valid_for_the_write_endpoint(current: list, ops: list) -> None:
    result = apply_change(current, reduce_changes(ops), SRC)
    pairs = [(s["id"], s["source"]) for s in result]
    assert len(pairs) == len(set(pairs))


@settings(max_examples=300, deadline=None)
@given(segments, operations())
def test_reduction_equals_applying_one_by_one(current: list, ops: list) -> None:
    stepwise = current
    for op in ops:
        stepwise = apply_change(stepwise, op, SRC)
    reduced = apply_change(current, reduce_changes(ops), SRC)
    # Same membership; positions of re-added segments may differ only in order
    # among themselves, never for segments of other sources.
    assert {(s["id"], s["source"]) for s in reduced} == {(s["id"], s["source"]) for s in stepwise}
    assert others(reduced) == others(stepwise)
