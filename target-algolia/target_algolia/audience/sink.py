"""The audience sink: any stream's event, snapshot or CDC records -> changes on the shared batch.

Each record becomes one validated change, added to the run's writer, or one
reject with its reason; nothing is written from here (the writer writes the
batch when it is full or due). Mirror and erasure streams have their own
sinks (``mirror.sink``, ``erasure.sink``).
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from algolia_api import user_id_problem
from target_algolia.input.depth import refuse_cut_record
from target_algolia.input.source_fields import (
    DELETED_ROW_INCOMPLETE,
    declares_deletes,
    is_deleted,
    present,
    segment_list,
)
from target_algolia.merge import (
    Change,
    EventKind,
    Trigger,
    clean_text,
    event_operation,
    parse_event,
    reduce_changes,
    segment_id_problem,
    snapshot_operation,
)
from target_algolia.numbers import shown
from target_algolia.outcomes import (
    AMBIGUOUS_RECORD,
    FILTERED_BY_TRIGGER,
    INVALID_SEGMENT,
    INVALID_USER_ID,
    NOT_AN_AUDIENCE_RECORD,
    UNKNOWN_EVENT,
    RecordRejected,
)
from target_algolia.sdk_internals import SDKInternalsBatchSink

if t.TYPE_CHECKING:
    from singer_sdk import Target
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_algolia.settings import TargetSettings
    from target_algolia.write.writer import ProfileWriter


class AudienceRun(t.Protocol):
    """What the audience sink uses of the run (``target_algolia.run.Run``)."""

    @property
    def settings(self) -> TargetSettings: ...

    @property
    def writer(self) -> ProfileWriter: ...


class AlgoliaSegmentsSink(SDKInternalsBatchSink):
    """Accepts event and snapshot records from any stream."""

    def __init__(self, target: Target, stream_name: str, *args: t.Any, **kwargs: t.Any) -> None:
        # The sink keeps the run the target hands over, never the target. Set
        # first: the SDK's __init__ asks include_sdc_metadata_properties.
        self.run: AudienceRun = t.cast("t.Any", target).run
        super().__init__(target, stream_name, *args, **kwargs)
        # A change-data-capture stream (its SCHEMA declares _sdc_deleted_at, as
        # tap-postgres LOG_BASED streams do) sends rows, not events: a row that
        # exists needs no `event` to be an entry. (original_schema: the SDK adds
        # _sdc_deleted_at to self.schema itself when it adds record metadata.)
        self.cdc = declares_deletes(self.original_schema)
        # No SDK type checks or timestamp parsing on arbitrary upstream schemas:
        # a wrong type in one of our fields is a reject, not a crash.
        self.schema = {"type": "object", "properties": {}, "additionalProperties": True}
        self.user_id_field: str = self.run.settings.user_id_field
        self.trigger: Trigger = self.run.settings.trigger

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        return None

    @override
    def activate_version(self, new_version: int) -> None:
        self.logger.debug("ACTIVATE_VERSION ignored: %s is not a mirror stream", self.stream_name)

    @property
    def writer(self) -> ProfileWriter:
        return self.run.writer

    @property
    @override
    def is_full(self) -> bool:
        # The batch is shared by every stream, so is its size.
        return self.writer.pending_records >= self.max_size

    @override
    def process_record(self, record: dict, context: dict) -> None:
        writer = self.writer
        writer.stats.count("records")
        user_id = record.get(self.user_id_field)
        try:
            refuse_cut_record(record)  # nested too deep (input.depth)
            problem = user_id_problem(user_id)
            if problem:
                deleted_without_id = user_id is None and is_deleted(record)
                hint = f": {DELETED_ROW_INCOMPLETE}" if deleted_without_id else ""
                raise RecordRejected(
                    INVALID_USER_ID, f"{problem} in field {self.user_id_field!r}{hint}"
                )
            change = self._operation(record)
        except RecordRejected as rejected:
            writer.reject(
                rejected.code,
                rejected.detail,
                user_id=user_id,
                records=[(record, self.stream_name)],
            )
            return
        if change is None:
            writer.stats.skip(FILTERED_BY_TRIGGER)
            self.logger.debug(
                "User %s: %s event ignored (trigger_events=%s)",
                user_id,
                record.get("event"),
                self.trigger.value,
            )
            return
        writer.add(t.cast(str, user_id), change, record, self.stream_name)

    def _operation(self, record: dict[str, t.Any]) -> Change | None:
        """The change a record asks for; None if trigger_events ignores it.

        Empty strings count as absent and ``segments`` may be a string
        (source_fields); a deleted row is an exit from the audiences it names.
        """
        snapshot = present(record.get("segments"))
        segment = clean_text(present(record.get("segment")))
        event = present(record.get("event"))
        if snapshot is not None and (segment is not None or event is not None):
            raise RecordRejected(
                AMBIGUOUS_RECORD, "record has both 'segments' and 'segment'/'event'; send one form"
            )
        deleted = is_deleted(record)
        if snapshot is not None:
            slugs = segment_list(snapshot)
            if deleted:
                return self._deleted_row(slugs)
            return snapshot_operation(slugs, self.trigger)
        if segment is None and event is None:
            if deleted:
                # Without its audiences, a delete cannot say what the user left.
                raise RecordRejected(NOT_AN_AUDIENCE_RECORD, DELETED_ROW_INCOMPLETE)
            raise RecordRejected(
                NOT_AN_AUDIENCE_RECORD,
                "record has neither 'segment' and 'event' nor 'segments'",
            )
        problem = segment_id_problem(segment)
        if problem:
            raise RecordRejected(INVALID_SEGMENT, problem)
        segment = t.cast(str, segment)
        if deleted:
            # Whatever the row said, it is gone: the user is no longer in the audience.
            return event_operation(segment, EventKind.EXIT, self.trigger)
        if event is None and self.cdc:
            return event_operation(segment, EventKind.ENTER, self.trigger)
        kind = parse_event(event)
        if kind is None:
            raise RecordRejected(
                UNKNOWN_EVENT, f"unknown event {shown(event)}; expected 'enter' or 'exit'"
            )
        return event_operation(segment, kind, self.trigger)

    def _deleted_row(self, slugs: list[str]) -> Change | None:
        """The exit a deleted row asks for: from each audience it names."""
        if not self.trigger.applies_exits:
            return None  # trigger_events: entry
        return reduce_changes(
            t.cast(Change, event_operation(slug, EventKind.EXIT, self.trigger)) for slug in slugs
        )

    @override
    def process_batch(self, context: dict) -> None:
        # Every stream's records share the batch; once it is written the gate
        # offers the latest STATE (state_gate).
        self.writer.flush()
