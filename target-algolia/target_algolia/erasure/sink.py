"""The erasure sink: an erasure stream's records -> requests, applied once the input has ended.

It writes nothing itself: each record is a request, a reject or a skip
(``erasure.requests``), and the target applies them all after the last
batch; the run's STATE gate holds every STATE until then.
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from target_algolia.sdk_internals import SDKInternalsBatchSink

if t.TYPE_CHECKING:
    from singer_sdk import Target
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_algolia.erasure.requests import ErasureRequests
    from target_algolia.write.writer import ProfileWriter


class ErasureRun(t.Protocol):
    """What the erasure sink uses of the run (``target_algolia.run.Run``)."""

    @property
    def erasure(self) -> ErasureRequests: ...

    @property
    def writer(self) -> ProfileWriter: ...


class ErasureSink(SDKInternalsBatchSink):
    """The sink of an erasure stream: collects requests, writes nothing itself."""

    def __init__(self, target: Target, stream_name: str, *args: t.Any, **kwargs: t.Any) -> None:
        # The sink keeps the run the target hands over, never the target.
        self.run: ErasureRun = t.cast("t.Any", target).run
        super().__init__(target, stream_name, *args, **kwargs)
        # Only the user ID field is read, by our own rules (a bad one is a reject).
        self.schema = {"type": "object", "properties": {}, "additionalProperties": True}
        self.logger.info(
            "Erasure stream %s: collecting requests; profiles are deleted after the "
            "end of the input",
            stream_name,
        )

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        return None

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        # Else singer-sdk strips _sdc_deleted_at from each record before process_record.
        return True

    @property
    @override
    def is_full(self) -> bool:
        return False  # requests wait for the end of input, never for a batch

    @override
    def process_record(self, record: dict, context: dict) -> None:
        writer = self.run.writer
        writer.stats.count("records")
        self.run.erasure.add_record(record, self.stream_name, writer)

    @override
    def process_batch(self, context: dict) -> None:
        """Nothing: requests are applied once, after the end of the input."""
