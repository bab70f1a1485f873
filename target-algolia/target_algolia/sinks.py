"""The sink: any stream's records -> validated audience operations on the shared batch."""

from __future__ import annotations

import typing as t

from typing_extensions import override

from algolia_api import user_id_problem
from target_algolia.merge import (
    Change,
    Trigger,
    clean_text,
    event_operation,
    parse_event,
    segment_id_problem,
    snapshot_operation,
)
from target_algolia.profile_writer import (
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
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_algolia.mirror import Membership
    from target_algolia.profile_writer import ProfileWriter
    from target_algolia.target import TargetAlgolia


class AlgoliaSegmentsSink(SDKInternalsBatchSink):
    """Accepts event and snapshot records from any stream."""

    def __init__(
        self, target: TargetAlgolia, stream_name: str, *args: t.Any, **kwargs: t.Any
    ) -> None:
        # Set first: the SDK's __init__ asks include_sdc_metadata_properties.
        self.membership: Membership | None = target.mirror_membership(stream_name)
        self._collecting = False  # logged the first record of a mirror stream
        super().__init__(target, stream_name, *args, **kwargs)
        self._algolia_target = target
        # No SDK type checks or timestamp parsing on arbitrary upstream schemas:
        # a wrong type in one of our fields is a reject, not a crash.
        self.schema = {"type": "object", "properties": {}, "additionalProperties": True}
        self.user_id_field: str = self.config["user_id_field"]
        self.trigger = Trigger(self.config["trigger_events"])

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        return None

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        # A mirror stream needs each record's version (the SDK passes it on only
        # as _sdc_table_version) to check an ACTIVATE_VERSION proof.
        return self.membership is not None or super().include_sdc_metadata_properties

    @override
    def activate_version(self, new_version: int) -> None:
        if self.membership is None:
            self.logger.debug(
                "ACTIVATE_VERSION ignored: %s is not a mirror stream", self.stream_name
            )
            return
        self.membership.activate(new_version)

    @property
    def writer(self) -> ProfileWriter:
        return self._algolia_target.writer

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
            if self.membership is not None:
                if not self._collecting:
                    self._collecting = True
                    self.logger.info(
                        "Mirror stream %s: collecting members; nothing is written "
                        "before the end of the input",
                        self.stream_name,
                    )
                self.membership.add_record(record)
                return
            problem = user_id_problem(user_id)
            if problem:
                raise RecordRejected(INVALID_USER_ID, f"{problem} in field {self.user_id_field!r}")
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
        """The change a record asks for; None if trigger_events ignores it."""
        snapshot = record.get("segments")
        segment = clean_text(record.get("segment"))
        event = record.get("event")
        if snapshot is not None and (segment is not None or event is not None):
            raise RecordRejected(
                AMBIGUOUS_RECORD, "record has both 'segments' and 'segment'/'event'; send one form"
            )
        if snapshot is not None:
            if not isinstance(snapshot, list):
                raise RecordRejected(
                    INVALID_SEGMENT, f"'segments' is a {type(snapshot).__name__}, not a list"
                )
            snapshot = [clean_text(slug) for slug in snapshot]
            for slug in snapshot:
                problem = segment_id_problem(slug)
                if problem:
                    raise RecordRejected(INVALID_SEGMENT, f"{problem} in 'segments'")
            return snapshot_operation(snapshot, self.trigger)
        if segment is None and event is None:
            raise RecordRejected(
                NOT_AN_AUDIENCE_RECORD,
                "record has neither 'segment' and 'event' nor 'segments'",
            )
        problem = segment_id_problem(segment)
        if problem:
            raise RecordRejected(INVALID_SEGMENT, problem)
        kind = parse_event(event)
        if kind is None:
            raise RecordRejected(
                UNKNOWN_EVENT, f"unknown event {event!r}; expected 'enter' or 'exit'"
            )
        return event_operation(t.cast(str, segment), kind, self.trigger)

    @override
    def process_batch(self, context: dict) -> None:
        self.writer.flush()
        self._algolia_target.state_after_flush()
