"""Stream definitions for tap-algolia.

Rule for deletions: a FULL_TABLE sync stamps every RECORD with one version (the
sync's start, in milliseconds since the epoch) and sends ACTIVATE_VERSION for
it once, after its last RECORD, and only when every page was read and every
profile delivered. A target that honours the message then marks the rows of
older versions, i.e. the profiles deleted in Algolia. A failed, interrupted or
partial sync sends none, and so does an incremental sync: both see only some
profiles. (singer-sdk's own ``emit_activate_version_messages`` sends the
message before the records, which would mark every row a failed sync never
reached; it is never used.)
"""

from __future__ import annotations

import typing as t
from collections import Counter
from datetime import datetime, timezone

from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.singerlib import ActivateVersionMessage
from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE
from typing_extensions import override

from tap_algolia.client import AlgoliaStream
from tap_algolia.profiles import RecordShape, UnrepresentableProfile, build_record
from tap_algolia.sdk_internals import RecordPathOverrides
from tap_algolia.window import SyncWindow, plan_window

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

SCORE_MAP = th.ObjectType(additional_properties=th.NumberType)
SCORE_MAPS = ("algolia_affinities_name_score", "algolia_affinities_value_score")

USER_SCHEMA = th.PropertiesList(
    # The API form.
    th.Property("userID", th.StringType, required=True, description="Algolia user ID."),
    th.Property("type", th.StringType, description="Profile type, e.g. basic or advanced."),
    th.Property(
        "affinities",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType, description="Affinity name, e.g. brand."),
                th.Property("value", th.StringType, description="Affinity value, e.g. Nike."),
                th.Property("score", th.NumberType, description="Strength of the affinity."),
                th.Property(
                    "indices",
                    th.ArrayType(th.StringType),
                    description="Indices the affinity was learned from.",
                ),
                th.Property(
                    "lastUpdatedAt",
                    th.DateTimeType,
                    description="When the affinity last changed (canonical UTC).",
                ),
            )
        ),
        description="Affinities of the profile, as the API lists them.",
    ),
    th.Property(
        "segments",
        th.ArrayType(
            th.ObjectType(
                th.Property("id", th.StringType, description="Segment ID."),
                th.Property("source", th.StringType, description="System managing it."),
            )
        ),
        description="Segment memberships; an empty list when the API has none.",
    ),
    th.Property(
        "lastUpdatedAt",
        th.DateTimeType,
        required=True,
        description="When the profile last changed, as YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC).",
    ),
    # The profile form (the product's "Import User Data" fields).
    th.Property("algolia_user_id", th.StringType, description="Algolia user ID."),
    th.Property("algolia_user_type", th.StringType, description="Algolia user type."),
    th.Property(
        "algolia_affinities_name",
        th.ArrayType(th.StringType),
        description="Distinct affinity names, in profile order.",
    ),
    th.Property(
        "algolia_affinities_value",
        th.ArrayType(th.StringType),
        description="Distinct affinity values, in profile order.",
    ),
    th.Property(
        "algolia_affinities_name_score",
        SCORE_MAP,
        description="Highest affinity score for each affinity name.",
    ),
    th.Property(
        "algolia_affinities_value_score",
        SCORE_MAP,
        description="Highest affinity score for each affinity value.",
    ),
    th.Property(
        "algolia_segment_ids",
        th.ArrayType(th.StringType),
        description="Segment IDs, in profile order (parallel to algolia_segment_sources).",
    ),
    th.Property(
        "algolia_segment_sources",
        th.ArrayType(th.StringType),
        description="Segment sources, in profile order (parallel to algolia_segment_ids).",
    ),
    th.Property(
        "algolia_last_updated",
        th.DateTimeType,
        description="When the profile last changed (same value as lastUpdatedAt).",
    ),
).to_dict()
# A map keyed by data (affinity names and values) declares no "properties".
# singer-sdk's flattener walks an object's declared properties into columns
# but a record's actual keys, so an empty "properties" made the SCHEMA drop
# the map while records carried map__color columns. Without it, flattening
# writes the map as one JSON text column, in the SCHEMA and the records alike.
for _name in SCORE_MAPS:
    del USER_SCHEMA["properties"][_name]["properties"]


#: The end-of-run summary names at most this many skipped profiles.
SUMMARY_NAMES = 20


def _user_id_of(user: t.Any) -> str:
    user_id = user.get("userID") if isinstance(user, dict) else None
    return repr(user_id) if isinstance(user_id, str) else "<missing>"


def sync_summary(emitted: int, skipped: list[tuple[str, str]], notes: Counter[str]) -> str:
    """One line: records emitted, profiles skipped (named, with reasons), values read."""
    line = f"Sync summary: {emitted} records emitted, {len(skipped)} profiles skipped"
    if skipped:
        named = "; ".join(f"{uid}: {reason}" for uid, reason in skipped[:SUMMARY_NAMES])
        more = len(skipped) - SUMMARY_NAMES
        line += f" ({named}{f'; and {more} more' if more > 0 else ''})"
    if notes:
        line += ", values read: " + ", ".join(f"{what}: {n}" for what, n in notes.items())
    return line


class UsersStream(RecordPathOverrides, AlgoliaStream):
    """``GET /2/users``: one record per user profile.

    Bookmarking: the API pages in userID order, so records arrive unsorted and
    their ``lastUpdatedAt`` says nothing about how far the sync got. The stream
    therefore tracks no per-record progress; it reads one window (see
    :mod:`tap_algolia.window`) and, only once its last page has been read,
    stores the window's end as the bookmark. An interrupted sync leaves the
    previous bookmark in place.

    How records leave (selected, mapped, written) is singer-sdk's record path
    with the shortcuts of :class:`tap_algolia.sdk_internals.RecordPathOverrides`:
    no per-record state tracking, no child streams, and a direct RECORD writer
    when nothing maps the records.
    """

    name = "users"
    path = "/2/users"
    primary_keys: t.ClassVar[list[str]] = ["userID"]
    replication_key = "lastUpdatedAt"
    is_sorted = False
    schema = USER_SCHEMA
    # Records are built field by field to match the schema (profiles.py).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    #: The window of the current sync (for logs and tests).
    window: SyncWindow | None = None
    #: The version every RECORD of this sync carries: set for a FULL_TABLE sync
    #: with ``activate_version`` on, None otherwise (no ``version`` key at all).
    table_version: int | None = None

    # Window and bookmark ----------------------------------------------------------

    def now(self) -> datetime:
        """The sync's start: the end of the window it reads."""
        return datetime.now(timezone.utc)

    @property
    def full_table(self) -> bool:
        """True when the catalog asks for FULL_TABLE replication (every profile, every sync)."""
        return self.replication_method == REPLICATION_FULL_TABLE

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Always False: singer-sdk's ACTIVATE_VERSION leads the records (module rule).

        The tap sends its own, after the last record (:meth:`_activate_version`).
        """
        return False

    def _bookmark(self, context: Context | None) -> str | None:
        """The stored bookmark to continue from; None for a full read.

        A catalog that sets ``replication-method: FULL_TABLE`` asks for every
        profile on every sync: the stored bookmark is then ignored (and
        replaced at the end, so switching back to INCREMENTAL continues from
        the last full read).
        """
        state = self.get_context_state(context)
        if state.get("replication_key") != self.replication_key:
            return None
        value = state.get("replication_key_value")
        if value and self.full_table:
            self.logger.info(
                "FULL_TABLE replication: reading every profile, ignoring the bookmark %s", value
            )
            return None
        return str(value) if value else None

    def _start_date(self) -> str | None:
        """``start_date``, except for a FULL_TABLE sync, which reads every profile."""
        start_date = self.config.get("start_date")
        if start_date and self.full_table:
            self.logger.info(
                "FULL_TABLE replication: reading every profile, ignoring start_date %s",
                start_date,
            )
            return None
        return t.cast("str | None", start_date)

    def _activate_version(self, version: int) -> None:
        """ACTIVATE_VERSION for every stream name the records left under (stream maps)."""
        for stream_map in self.stream_maps:
            if not isinstance(stream_map, RemoveRecordTransform):
                self.tap.write_message(
                    ActivateVersionMessage(stream=stream_map.stream_alias, version=version)
                )

    @override
    def compare_start_date(self, value: str, start_date_value: str) -> str:
        """A bookmark always wins: start_date only applies to the first sync."""
        return value

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: the bookmark is the window end, set in get_records."""
        return

    def _keep_bookmark(self, context: Context | None, window: SyncWindow) -> None:
        state = self.get_context_state(context)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = window.bookmark

    # Requests ---------------------------------------------------------------------

    @override
    def get_url_params(
        self,
        context: Context | None,
        next_page_token: str | None,
    ) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"limit": self.config["page_size"]}
        if self.window is not None:
            params.update(self.window.query())
        if indices := self.config.get("indices"):
            params["indices"] = ",".join(indices)
        if affinity := self.config.get("affinity"):
            params["affinity"] = ",".join(affinity)
        if next_page_token:
            params["nextPageToken"] = next_page_token
        return params

    # Records ----------------------------------------------------------------------

    def _record_shape(self) -> RecordShape:
        mask = self.mask
        return RecordShape.from_selection(lambda field: bool(mask[("properties", field)]))

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        now = self.now()
        window = plan_window(
            bookmark=self._bookmark(context),
            start_date=self._start_date(),
            overlap_seconds=self.config["overlap_seconds"],
            now=now,
        )
        self.window = window
        versioned = self.full_table and self.config["activate_version"]
        self.table_version = int(now.timestamp() * 1000) if versioned else None
        if window.empty:
            self.logger.warning(
                "Nothing to read: the bookmark or start_date is after the sync start "
                "(%s); keeping the bookmark as it is",
                window.bookmark,
            )
            return
        self.logger.info(
            "Reading users updated from %s to %s",
            window.query().get("startDate", "the beginning"),
            window.query().get("endDate", "the newest"),
        )
        shape = self._record_shape()
        not_before = window.not_before
        notes: Counter[str] = Counter()
        skipped: list[tuple[str, str]] = []
        emitted = 0
        for user in self.request_records(context):
            try:
                record = build_record(user, shape, notes)
            except UnrepresentableProfile as exc:
                user_id = _user_id_of(user)
                skipped.append((user_id, str(exc)))
                self.logger.warning("Skipped profile userID=%s: %s", user_id, exc)
                continue
            if not_before is not None and record["lastUpdatedAt"] < not_before:
                continue
            emitted += 1
            yield record
        # Every page of the window has been read: only now may the bookmark move.
        self._keep_bookmark(context, window)
        self.logger.info("%s", sync_summary(emitted, skipped, notes))
        # Every record has been written by now (Stream.sync writes each one
        # before asking for the next), so the message follows the last of them
        # (tap-algolia/tests/test_deletions.py checks the order).
        if self.table_version is None:
            return
        if skipped:
            self.logger.warning(
                "No ACTIVATE_VERSION: %d profiles were skipped, and a target would mark "
                "their rows deleted although they still exist in Algolia",
                len(skipped),
            )
            return
        self._activate_version(self.table_version)
        self.logger.info(
            "Every profile read: ACTIVATE_VERSION %d sent after %d records",
            self.table_version,
            emitted,
        )
