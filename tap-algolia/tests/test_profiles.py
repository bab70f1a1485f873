"""One profile -> one record: the API form, the nine profile fields, timestamps."""

from __future__ import annotations

import copy
import typing as t
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from tap_algolia.profiles import (
    API_FIELDS,
    PROFILE_FIELDS,
    RecordShape,
    UnrepresentableProfile,
    build_record,
)

USER: dict[str, t.Any] = {
    "userID": "user-42",
    "type": "advanced",
    "lastUpdatedAt": "2026-11-02T11:15:00.25+01:00",
    "affinities": [
        {
            "name": "brand",
            "value": "Nike",
            "score": 12,
            "indices": ["products"],
            "lastUpdatedAt": "2026-11-02T10:15:00Z",
        },
        {
            "name": "color",
            "value": "red",
            "score": 3.5,
            "indices": ["products", "products_EN"],
            "lastUpdatedAt": "2026-11-01T23:00:00.123456789-02:00",
        },
        {
            "name": "brand",
            "value": "Puma",
            "score": 19,
            "indices": ["products"],
            "lastUpdatedAt": "2026-10-30T00:00:00.000000Z",
        },
        {
            "name": "category",
            "value": "red",
            "score": 7,
            "indices": [],
            "lastUpdatedAt": "2026-10-29T08:00:00.5Z",
        },
    ],
    "segments": [
        {"id": "vip", "source": "crm"},
        {"id": "high_intent_shoes", "source": "meltano"},
        {"id": "vip", "source": "cdp"},
    ],
}


def test_both_forms_from_one_profile() -> None:
    record = build_record(copy.deepcopy(USER), RecordShape.everything())
    assert record == {
        "userID": "user-42",
        "type": "advanced",
        "lastUpdatedAt": "2026-11-02T10:15:00.250000Z",
        "affinities": [
            {
                "name": "brand",
                "value": "Nike",
                "score": 12,
                "indices": ["products"],
                "lastUpdatedAt": "2026-11-02T10:15:00.000000Z",
            },
            {
                "name": "color",
                "value": "red",
                "score": 3.5,
                "indices": ["products", "products_EN"],
                "lastUpdatedAt": "2026-11-02T01:00:00.123456Z",
            },
            {
                "name": "brand",
                "value": "Puma",
                "score": 19,
                "indices": ["products"],
                "lastUpdatedAt": "2026-10-30T00:00:00.000000Z",
            },
            {
                "name": "category",
                "value": "red",
                "score": 7,
                "indices": [],
                "lastUpdatedAt": "2026-10-29T08:00:00.500000Z",
            },
        ],
        "segments": [
            {"id": "vip", "source": "crm"},
            {"id": "high_intent_shoes", "source": "meltano"},
            {"id": "vip", "source": "cdp"},
        ],
        "algolia_user_id": "user-42",
        "algolia_user_type": "advanced",
        "algolia_affinities_name": ["brand", "color", "category"],
        "algolia_affinities_value": ["Nike", "red", "Puma"],
        "algolia_affinities_name_score": {"brand": 19, "color": 3.5, "category": 7},
        "algolia_affinities_value_score": {"Nike": 12, "red": 7, "Puma": 19},
        "algolia_segment_ids": ["vip", "high_intent_shoes", "vip"],
        "algolia_segment_sources": ["crm", "meltano", "cdp"],
        "algolia_last_updated": "2026-11-02T10:15:00.250000Z",
    }


def test_missing_segments_are_an_empty_list() -> None:
    user = {"userID": "u1", "type": "basic", "lastUpdatedAt": "2026-11-02T10:15:00Z"}
    user["affinities"] = []
    record = build_record(user, RecordShape.everything())
    assert record["segments"] == []
    assert record["algolia_segment_ids"] == []
    assert record["algolia_segment_sources"] == []
    assert record["algolia_affinities_name"] == []
    assert record["algolia_affinities_name_score"] == {}


def test_only_the_profile_form_when_the_api_form_is_deselected() -> None:
    shape = RecordShape((*PROFILE_FIELDS, "userID", "lastUpdatedAt"))
    record = build_record(copy.deepcopy(USER), shape)
    assert set(record) == {"userID", "lastUpdatedAt", *PROFILE_FIELDS}


def test_only_the_api_form_when_the_profile_fields_are_deselected() -> None:
    record = build_record(copy.deepcopy(USER), RecordShape(API_FIELDS))
    assert set(record) == set(API_FIELDS)


def test_a_single_profile_field_is_built_alone() -> None:
    record = build_record(
        copy.deepcopy(USER), RecordShape(("userID", "lastUpdatedAt", "algolia_segment_sources"))
    )
    assert record == {
        "userID": "user-42",
        "lastUpdatedAt": "2026-11-02T10:15:00.250000Z",
        "algolia_segment_sources": ["crm", "meltano", "cdp"],
    }


UTC = timezone.utc


@given(
    st.lists(
        st.tuples(
            st.datetimes(
                min_value=datetime(2000, 1, 1),
                max_value=datetime(2099, 1, 1),
                timezones=st.just(UTC),
            ),
            st.sampled_from([0, 60, -300, 330, 840, -720]),
            st.sampled_from([0, 1, 3, 6]),
        ),
        min_size=2,
        max_size=20,
    )
)
def test_string_order_of_emitted_timestamps_is_time_order(
    moments: list[tuple[datetime, int, int]],
) -> None:
    """singer-sdk and targets compare replication values as strings."""
    pairs = []
    for moment, offset, digits in moments:
        keep = 10 ** (6 - digits)
        moment = moment.replace(microsecond=moment.microsecond // keep * keep)
        local = moment.astimezone(timezone(timedelta(minutes=offset)))
        text = local.strftime("%Y-%m-%dT%H:%M:%S")
        if digits:
            text += "." + f"{local.microsecond:06d}"[:digits]
        text += local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:] if offset else "Z"
        user = {"userID": "u", "lastUpdatedAt": text, "affinities": []}
        pairs.append((moment, build_record(user, RecordShape.everything())["lastUpdatedAt"]))
    by_time = [s for _, s in sorted(pairs, key=lambda p: p[0])]
    assert sorted(s for _, s in pairs) == by_time


# Any answer: a valid record or a named reason, never a crash -------------------------

_JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),  # inf: a number beyond float range on the wire
    st.sampled_from(
        ["", "5", "1e3", "nope", "2026-11-02T10:00:00Z", "2026-13-45T99:99:99.000000Z"]
    ),
    st.text(max_size=8),
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _mostly(good: st.SearchStrategy[t.Any]) -> st.SearchStrategy[t.Any]:
    """Usually a good value, sometimes anything: most profiles are then emitted."""
    return st.one_of(good, good, good, _JSON)


_AFFINITY = st.fixed_dictionaries(
    {},
    optional={
        "name": _mostly(st.text(max_size=5)),
        "value": _mostly(st.text(max_size=5)),
        "score": st.one_of(st.integers(0, 100), st.floats(0, 100), _JSON),
        "indices": _mostly(st.lists(st.text(max_size=5), max_size=2)),
        "lastUpdatedAt": _mostly(st.just("2026-11-02T10:00:00.5+01:00")),
    },
)
_SEGMENT = _mostly(
    st.fixed_dictionaries({"id": st.text(max_size=5), "source": st.text(max_size=5)})
)
_PROFILE = st.fixed_dictionaries(
    {
        "userID": _mostly(st.text(min_size=1, max_size=8)),
        "lastUpdatedAt": _mostly(st.just("2026-11-02T10:00:00.000000Z")),
    },
    optional={
        "type": st.one_of(st.sampled_from(["basic", "advanced"]), _JSON),
        "affinities": _mostly(st.lists(_AFFINITY, max_size=3)),
        "segments": _mostly(st.lists(_SEGMENT, max_size=3)),
    },
)


@settings(max_examples=300)
@given(_PROFILE, st.sets(st.sampled_from(API_FIELDS + PROFILE_FIELDS)))
def test_any_profile_is_a_valid_record_or_a_named_skip(
    profile: dict[str, t.Any], selected: set[str]
) -> None:
    from jsonschema import Draft202012Validator, FormatChecker

    from tap_algolia.streams import USER_SCHEMA

    shape = RecordShape({"userID", "lastUpdatedAt", *selected})
    try:
        record = build_record(copy.deepcopy(profile), shape)
    except UnrepresentableProfile as exc:
        reason = str(exc)
        assert reason, "a skip must say why"
        return
    validator = Draft202012Validator(USER_SCHEMA, format_checker=FormatChecker())
    assert [e.message for e in validator.iter_errors(record)] == []
