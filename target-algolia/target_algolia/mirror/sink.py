"""The mirror sink: a mirror stream's records -> its membership, collected until the end of input.

Nothing is written while the input arrives: each record adds its user to
the stream's :class:`~target_algolia.mirror.membership.Membership`, or is
rejected with its reason (and then the stream has no proof). The plan is
made and applied at the end of input (``mirror.plan``, ordered by the
target); the run's STATE gate holds every STATE until then.
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from target_algolia.audience.sink import AlgoliaSegmentsSink
from target_algolia.outcomes import RecordRejected

if t.TYPE_CHECKING:
    from singer_sdk import Target

    from target_algolia.mirror.membership import Membership


class MirrorSink(AlgoliaSegmentsSink):
    """A mirror stream's sink; it shares the batch's size with the audience sinks."""

    def __init__(self, target: Target, stream_name: str, *args: t.Any, **kwargs: t.Any) -> None:
        # Set before the SDK's __init__, which asks include_sdc_metadata_properties.
        run = t.cast("t.Any", target).run
        membership = run.membership(stream_name)
        assert membership is not None, f"{stream_name} is not a mirror stream"
        self.membership: Membership = membership
        self._collecting = False  # logged the first record
        super().__init__(target, stream_name, *args, **kwargs)

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        # Each record's version (the SDK passes it on only as
        # _sdc_table_version) is needed to check an ACTIVATE_VERSION proof.
        return True

    @override
    def activate_version(self, new_version: int) -> None:
        self.membership.activate(new_version)

    @override
    def process_record(self, record: dict, context: dict) -> None:
        writer = self.writer
        writer.stats.count("records")
        if not self._collecting:
            self._collecting = True
            self.logger.info(
                "Mirror stream %s: collecting members; nothing is written before the end "
                "of the input",
                self.stream_name,
            )
        try:
            self.membership.add_record(record)
        except RecordRejected as rejected:
            writer.reject(
                rejected.code,
                rejected.detail,
                user_id=record.get(self.user_id_field),
                records=[(record, self.stream_name)],
            )
