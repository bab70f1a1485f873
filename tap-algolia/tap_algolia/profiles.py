"""Turn one Algolia user profile into one `users` record, in a single pass.

A record can carry two forms of the same profile: the API form (``userID``,
``type``, ``affinities``, ``segments``, ``lastUpdatedAt``) and the nine
``algolia_*`` profile fields of the product's "Import User Data" fields table.
Which of them are built is decided once per sync from the catalog selection
(:class:`RecordShape`), so a deselected form costs nothing per record.

Rule: every record built is valid against the stream's schema, whatever the
API answered. A value that can be read without guessing (a score sent as the
string ``"5"``) is read, and counted in ``notes``; a profile whose emitted
fields cannot carry what the API sent (a ``lastUpdatedAt`` of ``"yesterday"``,
``segments`` that are not a list of ``{id, source}``) raises
:class:`UnrepresentableProfile`, and the stream skips, counts and names it.
Only the fields a record carries are checked: odd affinities do not cost a
profile whose affinity fields are deselected.
"""

from __future__ import annotations

import math
import typing as t

from algolia_api import UndecodableProfile, canonical_timestamp, segment_list_problem
from tap_algolia.json_kinds import json_kind

if t.TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Callable

Record = dict[str, t.Any]

#: The API form. ``userID`` and ``lastUpdatedAt`` are the stream's keys and so
#: are always emitted, whatever the selection.
API_FIELDS = ("userID", "type", "affinities", "segments", "lastUpdatedAt")

#: The profile form, in the order of the product's fields table.
PROFILE_FIELDS = (
    "algolia_user_id",
    "algolia_user_type",
    "algolia_affinities_name",
    "algolia_affinities_value",
    "algolia_affinities_name_score",
    "algolia_affinities_value_score",
    "algolia_segment_ids",
    "algolia_segment_sources",
    "algolia_last_updated",
)

_AFFINITY_FIELDS = frozenset(PROFILE_FIELDS[2:6])


class RecordShape:
    """Which fields a record needs: resolved once per sync from the catalog selection."""

    __slots__ = (
        "api_affinities",
        "api_segments",
        "api_type",
        "fields",
        "profile_affinities",
        "profile_ids",
        "profile_segment_ids",
        "profile_segment_sources",
        "profile_type",
        "profile_updated",
    )

    def __init__(self, fields: t.Iterable[str]) -> None:
        self.fields = frozenset(fields)
        self.api_type = "type" in self.fields
        self.api_affinities = "affinities" in self.fields
        self.api_segments = "segments" in self.fields
        self.profile_ids = "algolia_user_id" in self.fields
        self.profile_type = "algolia_user_type" in self.fields
        self.profile_affinities = bool(self.fields & _AFFINITY_FIELDS)
        self.profile_segment_ids = "algolia_segment_ids" in self.fields
        self.profile_segment_sources = "algolia_segment_sources" in self.fields
        self.profile_updated = "algolia_last_updated" in self.fields

    @classmethod
    def everything(cls) -> RecordShape:
        return cls(API_FIELDS + PROFILE_FIELDS)

    @classmethod
    def from_selection(cls, is_selected: Callable[[str], bool]) -> RecordShape:
        return cls(f for f in API_FIELDS + PROFILE_FIELDS if is_selected(f))


class UnrepresentableProfile(ValueError):
    """A profile the stream's schema cannot carry; ``str()`` says why."""


#: What ``notes`` counts when a value is read rather than taken as sent.
SCORE_FROM_STRING = "affinity score sent as a numeric string"


def _timestamp(value: t.Any, what: str) -> str:
    if not isinstance(value, str):
        kind = "missing" if value is None else f"{json_kind(value)}, not a string"
        msg = f"{what} is {kind}"
        raise UnrepresentableProfile(msg)
    try:
        return canonical_timestamp(value)
    except ValueError:
        msg = f"{what} {value!r} is not an RFC 3339 date-time"
        raise UnrepresentableProfile(msg) from None


def _text(value: t.Any, what: str) -> None:
    """A field the schema declares a string or null."""
    if value is not None and type(value) is not str:
        raise _not_text(value, what)


def _score(value: t.Any, notes: Counter[str] | None) -> float | int | None:
    kind = type(value)
    if kind is int or kind is float or value is None:  # bool is not a score
        return t.cast("float | int | None", value)
    if kind is str:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            if notes is not None:
                notes[SCORE_FROM_STRING] += 1
            return number
    msg = f"affinity score {value!r} is not a number"
    raise UnrepresentableProfile(msg)


def _checked_list(user: dict[str, t.Any], key: str) -> list[t.Any]:
    value = user.get(key)
    if type(value) is list:
        return value
    if value is None:
        return []
    msg = f"{key} is {json_kind(value)}, not a list"
    raise UnrepresentableProfile(msg)


def _not_text(value: t.Any, what: str) -> UnrepresentableProfile:
    return UnrepresentableProfile(f"{what} is {json_kind(value)}, not a string")


def _check_affinities(
    affinities: list[t.Any], *, canonical_stamps: bool, notes: Counter[str] | None
) -> None:
    """Check each affinity against the schema; read scores, canonicalise stamps in place.

    Runs for every affinity of every profile, so the common, valid case is a
    few type comparisons (JSON gives exact types: no subclass can occur).
    """
    for affinity in affinities:
        if type(affinity) is not dict:
            msg = f"an affinity is {json_kind(affinity)}, not an object"
            raise UnrepresentableProfile(msg)
        name = affinity.get("name")
        if name is not None and type(name) is not str:
            raise _not_text(name, "affinity name")
        value = affinity.get("value")
        if value is not None and type(value) is not str:
            raise _not_text(value, "affinity value")
        score = affinity.get("score")
        if type(score) is float:
            if score - score != 0:  # inf (1e400 on the wire): not a JSON number
                msg = f"affinity score {score!r} is out of range"
                raise UnrepresentableProfile(msg)
        elif type(score) is not int and score is not None:
            affinity["score"] = _score(score, notes)
        indices = affinity.get("indices")
        if indices is not None:
            if type(indices) is not list:
                raise _not_list_of_text("affinity indices")
            for index in indices:
                if type(index) is not str:
                    raise _not_list_of_text("affinity indices")
        if canonical_stamps:
            stamp = affinity.get("lastUpdatedAt")
            if stamp is not None:
                affinity["lastUpdatedAt"] = _timestamp(stamp, "affinity lastUpdatedAt")


def _not_list_of_text(what: str) -> UnrepresentableProfile:
    return UnrepresentableProfile(f"{what} are not a list of strings")


def _check_segments(segments: list[t.Any]) -> None:
    """Segments are ``{id, source}`` objects with non-empty strings (algolia_api's rule)."""
    problem = segment_list_problem(segments)
    if problem is not None:
        raise UnrepresentableProfile(problem)


def _best_scores(
    affinities: list[dict[str, t.Any]],
) -> tuple[dict[str, t.Any], dict[str, t.Any], bool]:
    """Highest score per affinity name and per affinity value, in first-seen order.

    A name or value seen only without a score maps to None; the flag says
    whether any does (the score maps then leave it out: their values are numbers).
    """
    by_name: dict[str, t.Any] = {}
    by_value: dict[str, t.Any] = {}
    unscored = False
    for affinity in affinities:
        score = affinity.get("score")
        if score is None:
            unscored = True
        name = affinity.get("name")
        if name is not None:
            best = by_name.get(name)
            if best is None or (score is not None and score > best):
                by_name[name] = score
        value = affinity.get("value")
        if value is not None:
            best = by_value.get(value)
            if best is None or (score is not None and score > best):
                by_value[value] = score
    return by_name, by_value, unscored


def _scored(best: dict[str, t.Any]) -> dict[str, t.Any]:
    return {key: score for key, score in best.items() if score is not None}


def build_record(user: t.Any, shape: RecordShape, notes: Counter[str] | None = None) -> Record:
    """One record for one profile as the API returned it.

    Raises :class:`UnrepresentableProfile` when a field the record carries
    cannot hold what the API sent. The affinity and segment objects of
    ``user`` are reused, not copied; the affinities' ``lastUpdatedAt`` and
    scores read from strings are rewritten in place.
    """
    if type(user) is not dict:
        if isinstance(user, UndecodableProfile):
            raise UnrepresentableProfile(user.reason)
        msg = f"the profile is {json_kind(user)}, not an object"
        raise UnrepresentableProfile(msg)
    user_id = user.get("userID")
    if type(user_id) is not str or not user_id:
        msg = f"userID is {user_id!r}, not a non-empty string"
        raise UnrepresentableProfile(msg)
    updated = _timestamp(user.get("lastUpdatedAt"), "lastUpdatedAt")
    record: Record = {"userID": user_id, "lastUpdatedAt": updated}
    if shape.api_type or shape.profile_type:
        _text(user.get("type"), "type")
    affinities: list[dict[str, t.Any]] = []
    if shape.api_affinities or shape.profile_affinities:
        affinities = _checked_list(user, "affinities")
        _check_affinities(affinities, canonical_stamps=shape.api_affinities, notes=notes)
    segments: list[dict[str, t.Any]] = []
    if shape.api_segments or shape.profile_segment_ids or shape.profile_segment_sources:
        segments = _checked_list(user, "segments")
        _check_segments(segments)

    if shape.api_type:
        record["type"] = user.get("type")
    if shape.api_affinities:
        record["affinities"] = affinities
    if shape.api_segments:
        record["segments"] = segments

    if shape.profile_ids:
        record["algolia_user_id"] = user_id
    if shape.profile_type:
        record["algolia_user_type"] = user.get("type")
    if shape.profile_affinities:
        by_name, by_value, unscored = _best_scores(affinities)
        fields = shape.fields
        if "algolia_affinities_name" in fields:
            record["algolia_affinities_name"] = list(by_name)
        if "algolia_affinities_value" in fields:
            record["algolia_affinities_value"] = list(by_value)
        if "algolia_affinities_name_score" in fields:
            record["algolia_affinities_name_score"] = _scored(by_name) if unscored else by_name
        if "algolia_affinities_value_score" in fields:
            record["algolia_affinities_value_score"] = _scored(by_value) if unscored else by_value
    if shape.profile_segment_ids:
        record["algolia_segment_ids"] = [segment.get("id") for segment in segments]
    if shape.profile_segment_sources:
        record["algolia_segment_sources"] = [segment.get("source") for segment in segments]
    if shape.profile_updated:
        record["algolia_last_updated"] = updated
    return record
