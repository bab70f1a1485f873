"""Turn one Algolia user profile into one `users` record, in a single pass.

A record can carry two forms of the same profile: the API form (``userID``,
``type``, ``affinities``, ``segments``, ``lastUpdatedAt``) and the nine
``algolia_*`` profile fields of the product's "Import User Data" fields table.
Which of them are built is decided once per sync from the catalog selection
(:class:`RecordShape`), so a deselected form costs nothing per record.
"""

from __future__ import annotations

import typing as t

from algolia_api.timestamps import canonical_timestamp

if t.TYPE_CHECKING:
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


def _best_scores(affinities: list[dict[str, t.Any]]) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """Highest score per affinity name and per affinity value, in first-seen order."""
    by_name: dict[str, t.Any] = {}
    by_value: dict[str, t.Any] = {}
    for affinity in affinities:
        score = affinity.get("score")
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
    return by_name, by_value


def build_record(user: dict[str, t.Any], shape: RecordShape) -> Record:
    """One record for one profile as the API returned it.

    The affinity and segment objects of ``user`` are reused, not copied; the
    affinities' ``lastUpdatedAt`` are rewritten in place to the canonical form.
    """
    raw_updated = user.get("lastUpdatedAt")
    updated = canonical_timestamp(raw_updated) if raw_updated is not None else None
    user_id = user.get("userID")
    record: Record = {"userID": user_id, "lastUpdatedAt": updated}
    affinities: list[dict[str, t.Any]] = user.get("affinities") or []
    segments: list[dict[str, t.Any]] = user.get("segments") or []

    if shape.api_type:
        record["type"] = user.get("type")
    if shape.api_affinities:
        for affinity in affinities:
            stamp = affinity.get("lastUpdatedAt")
            if stamp is not None:
                affinity["lastUpdatedAt"] = canonical_timestamp(stamp)
        record["affinities"] = affinities
    if shape.api_segments:
        record["segments"] = segments

    if shape.profile_ids:
        record["algolia_user_id"] = user_id
    if shape.profile_type:
        record["algolia_user_type"] = user.get("type")
    if shape.profile_affinities:
        by_name, by_value = _best_scores(affinities)
        fields = shape.fields
        if "algolia_affinities_name" in fields:
            record["algolia_affinities_name"] = list(by_name)
        if "algolia_affinities_value" in fields:
            record["algolia_affinities_value"] = list(by_value)
        if "algolia_affinities_name_score" in fields:
            record["algolia_affinities_name_score"] = by_name
        if "algolia_affinities_value_score" in fields:
            record["algolia_affinities_value_score"] = by_value
    if shape.profile_segment_ids:
        record["algolia_segment_ids"] = [segment.get("id") for segment in segments]
    if shape.profile_segment_sources:
        record["algolia_segment_sources"] = [segment.get("source") for segment in segments]
    if shape.profile_updated:
        record["algolia_last_updated"] = updated
    return record
