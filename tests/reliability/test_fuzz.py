"""Hypothesis fuzzing of the target's record parsing and of the merge.

* Parsing: any JSON object as a record ends in exactly one outcome (accepted,
  rejected with a reason, or ignored by trigger_events), never an exception,
  and an accepted record always has a valid user ID and segment IDs.
* Parsing + merge against a plain model: records for a few users go through
  the real sink, are folded per user and applied to an arbitrary profile;
  the result equals applying the operations one by one as documented (other
  sources untouched, managed segments added/removed, new ones in the order of
  their last entry), and applying it again changes nothing.
"""

from __future__ import annotations

import json
import typing as t

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algolia_api import user_id_problem
from algolia_testkit import reliability as kit
from target_algolia.merge import Action, apply_change, reduce_changes, segment_id_problem
from target_algolia.summary import RunStats
from target_algolia.target import TargetAlgolia

SOURCE = "meltano"
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


class StubWriter:
    """Stands in for ProfileWriter: records what the sink decided, sends nothing."""

    def __init__(self) -> None:
        self.stats = RunStats()
        self.added: list[tuple[str, t.Any]] = []
        self.rejected: list[str] = []
        self.pending_records = 0

    def add(self, user_id: str, change: t.Any, record: dict, stream: str) -> None:
        self.added.append((user_id, change))

    def reject(self, code: str, detail: str, **kwargs: t.Any) -> None:
        json.dumps(list(kwargs.get("records", [])), default=str)  # must be writable
        self.rejected.append(code)


def make_sink(trigger: str = "both") -> tuple[t.Any, StubWriter]:
    target = TargetAlgolia(
        config={
            "app_id": "A",
            "api_key": kit.SECRET,
            "api_url": "http://127.0.0.1:9",
            "trigger_events": trigger,
        }
    )
    writer = StubWriter()
    target.run._writer = writer  # type: ignore[assignment]
    sink = target.get_sink("audience", schema={"type": "object", "properties": {}})
    sink.logger.disabled = True
    return sink, writer


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
user_ids = st.one_of(
    st.sampled_from(["u1", "team/u2", "a+b=c", "", " u1", "..", "u1?x", "ü", "x" * 130]),
    st.text(max_size=10),
    json_values,
)
slugs = st.one_of(
    st.sampled_from(["vip", "promo", "s" * 256, "s" * 257, "", " ", "été 🎉"]),
    st.text(max_size=8),
    json_values,
)
events = st.one_of(
    st.sampled_from(["enter", "exit", "ENTER", " Exit ", "left", "", None]), json_values
)
records = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "algolia_user_id": user_ids,
            "segment": slugs,
            "event": events,
            "segments": st.one_of(st.lists(slugs, max_size=4), json_values),
        },
    ),
    st.dictionaries(st.text(max_size=6), json_values, max_size=4),
)


@FUZZ
@given(st.lists(records, max_size=15), st.sampled_from(["both", "entry", "exit"]))
def test_any_record_gets_exactly_one_outcome_and_never_crashes(
    batch: list[dict[str, t.Any]], trigger: str
) -> None:
    sink, writer = make_sink(trigger)
    for record in batch:
        sink.process_record(record, {})
    filtered = sum(writer.stats.skipped.values())
    assert len(writer.added) + len(writer.rejected) + filtered == len(batch)
    assert writer.stats.records == len(batch)
    for user_id, change in writer.added:
        assert user_id_problem(user_id) is None
        assert all(segment_id_problem(slug) is None for slug in change.actions)


# Parsing + merge against a model --------------------------------------------------------

model_slugs = st.sampled_from(["a", "b", "c", "d"])
operations = st.one_of(
    st.tuples(st.just("event"), model_slugs, st.sampled_from(["enter", "exit"])),
    st.tuples(st.just("snapshot"), st.lists(model_slugs, max_size=4), st.none()),
)
profile_segments = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.sampled_from(["a", "b", "c", "d", "e"]),
            "source": st.sampled_from([SOURCE, "crm"]),
        }
    ),
    max_size=7,
)


def model(
    current: list[dict[str, str]], ops: list[tuple[str, t.Any, t.Any]], trigger: str
) -> list[dict[str, str]]:
    """The documented merge, one operation at a time."""
    entries, exits = trigger != "exit", trigger != "entry"
    action: dict[str, Action] = {}
    default = Action.KEEP
    last_entry: dict[str, int] = {}
    step = 0
    for kind, arg, event in ops:
        if kind == "event":
            if event == "enter" and entries:
                action[arg] = Action.ADD
                last_entry[arg] = step = step + 1
            elif event == "exit" and exits:
                action[arg] = Action.REMOVE
            continue
        listed = list(dict.fromkeys(arg))
        if exits:  # managed segments not listed go
            for slug in action:
                if slug not in listed:
                    action[slug] = Action.REMOVE
            for slug in listed:
                action.setdefault(slug, default)
            default = Action.REMOVE
        if entries:
            for slug in listed:
                action[slug] = Action.ADD
                last_entry[slug] = step = step + 1
    seen: set[tuple[str, str]] = set()
    result = []
    for segment in current:
        key = (segment["id"], segment["source"])
        if key in seen:
            continue
        seen.add(key)
        if key[1] == SOURCE and action.get(key[0], default) is Action.REMOVE:
            continue
        result.append(segment)
    new = [s for s, a in action.items() if a is Action.ADD and (s, SOURCE) not in seen]
    result += [{"id": s, "source": SOURCE} for s in sorted(new, key=last_entry.__getitem__)]
    return result


@FUZZ
@given(
    profile_segments,
    st.lists(operations, max_size=10),
    st.sampled_from(["both", "entry", "exit"]),
)
def test_parsed_and_merged_records_match_the_model(
    current: list[dict[str, str]], ops: list[tuple[str, t.Any, t.Any]], trigger: str
) -> None:
    sink, writer = make_sink(trigger)
    for kind, arg, event in ops:
        if kind == "event":
            sink.process_record({"algolia_user_id": "u1", "segment": arg, "event": event}, {})
        else:
            sink.process_record({"algolia_user_id": "u1", "segments": arg}, {})
    assert writer.rejected == []
    change = reduce_changes(change for _, change in writer.added)
    merged = apply_change(current, change, SOURCE)
    assert merged == model(current, ops, trigger)
    # Replaying the same input on the written profile changes nothing (crash replay).
    assert apply_change(merged, change, SOURCE) == merged
    # Segments of other sources survive, in order (duplicates collapse to the first).
    others: list[dict[str, str]] = []
    for segment in current:
        if segment["source"] != SOURCE and segment not in others:
            others.append(segment)
    assert [s for s in merged if s["source"] != SOURCE] == others
