"""Every singer-sdk internal tap-algolia touches; no other module of the tap uses one.

The rest of the tap uses only singer-sdk's public hooks. What it cannot do
through them lives here: the RECORD fast path (see docs/profiling.md, which
measured each shortcut) and the exit code after a stop signal. singer-sdk is
pinned to ``>=0.54,<0.55``; :data:`SIGNATURES_WRITTEN_AGAINST` and :data:`SDK_SOURCE_TEXTS`
record what this module was written against, and tests/test_sdk_internals.py
fails when the installed singer-sdk differs. On an SDK upgrade, re-read each
item below against the new SDK source, then update those two tables.

Each internal, why it is used, and what breaks if singer-sdk changes it:

``Stream._write_record_message`` (overridden, :class:`RecordPathOverrides`)
    Why: with no stream map, no flattening and no nested deselection, the
    message the SDK would build, map and encode is exactly ``{type, stream,
    record, version?, time_extracted}``; the tap's writer encodes that
    directly (the SDK's path cost ~36% of the tap's CPU time).
    If it changes: a renamed method is no longer called and every record takes
    the SDK's slower path; a changed message layout makes the fast path's lines
    differ from the SDK's (tap-algolia/tests/test_output.py compares them byte
    for byte with stock singer-sdk).
``Stream._generate_record_messages`` (overridden)
    Why: skips the SDK's walk over each record to drop deselected fields
    (~15% of the CPU time) unless the catalog deselects something nested;
    ``build_record`` already leaves out deselected top-level fields, and type
    conformance is off (``TYPE_CONFORMANCE_LEVEL``).
    If it changes: anything new the SDK does per record (a new
    transformation, metadata) is missing from the tap's output.
``Stream._increment_stream_state`` (overridden, does nothing)
    Why: the users stream moves its bookmark once, when its whole window has
    been read (tap_algolia.window); tracking each unsorted record is wasted work.
    If it changes: the SDK tracks per-record progress markers again, which
    costs time and may move the bookmark differently (the bookmark tests in
    tap-algolia/tests check where it ends).
``Stream._process_record`` (overridden, does nothing; guarded by ``request_records``)
    Why: the SDK's version copies partition keys into each record and syncs
    child streams; the stream has neither, and the call cost ~5% of the CPU.
    :meth:`RecordPathOverrides.request_records` refuses to read for a stream
    that has child streams or partitions, so adding one cannot silently lose
    data.
    If it changes: same as above; a new duty added to it would be skipped.
``singer_sdk.helpers._catalog.pop_deselected_record_properties`` (called)
    Why: the SDK's own deselection walk, run when a nested field is deselected.
    If it changes: an import error or a signature mismatch (tested).
``version=self._stream_version`` in ``Stream._generate_record_messages`` (text checked)
    Why: the SDK stamps a RECORD's ``version`` there; both overrides above
    stamp the stream's own public ``table_version`` instead (the FULL_TABLE
    version, see tap_algolia.streams), which the SDK never sets.
    If it changes: the SDK's RECORDs carry something the overrides no longer
    mirror; re-read how the SDK versions records.
``StreamStateManager.is_flushed`` (set; ``singer_sdk.streams._state``)
    Why: the SDK's record path marks the state as not yet flushed after each
    RECORD, so the next STATE message is written; the fast path does the same.
    If it changes: STATE messages after records could be skipped.
``Tap._handle_termination`` (overridden, :class:`TerminationOverride`)
    Why: singer-sdk's SIGTERM/SIGINT handler emits STATE and exits 0, so a
    scheduler counts an interrupted sync as a success; the tap exits 128 + the
    signal number instead (TapAlgolia.exit_on_signal).
    If it changes: an interrupted sync exits 0 again
    (tests/reliability/test_tap_interrupted_sync.py catches it).
The text ``"An unhandled error occurred"`` logged by ``Stream.sync``
    Why: the SDK logs it at ERROR before re-raising any exception; for failures
    the CLI already explains in one line, the tap demotes it to DEBUG
    (:func:`is_sdk_unhandled_error_line`, used by AlgoliaStream.log).
    If it changes: users see that generic line again above the explanation.
"""

from __future__ import annotations

import typing as t
from functools import cached_property

from singer_sdk import RESTStream, Stream, Tap
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage
from typing_extensions import override

from tap_algolia.message_writer import BufferedMsgSpecWriter

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable
    from datetime import datetime
    from types import FrameType

    from singer_sdk.helpers.types import Context, Record

    from tap_algolia.tap import TapAlgolia

#: What singer-sdk 0.54 has for each private name this module overrides, calls or
#: reads: a method's ``inspect.signature`` text, an instance attribute's annotation.
SIGNATURES_WRITTEN_AGAINST: dict[str, str] = {
    "singer_sdk.streams.core:Stream._write_record_message": (
        "(self, record: 'types.Record') -> 'None'"
    ),
    "singer_sdk.streams.core:Stream._generate_record_messages": (
        "(self, record: 'types.Record') -> 't.Generator[singer.RecordMessage, None, None]'"
    ),
    "singer_sdk.streams.core:Stream._increment_stream_state": (
        "(self, latest_record: 'types.Record', *, context: 'types.Context | None' = None) -> 'None'"
    ),
    "singer_sdk.streams.core:Stream._process_record": (
        "(self, record: 'types.Record', child_context: 'types.Context | None' = None,"
        " partition_context: 'types.Context | None' = None) -> 'None'"
    ),
    "singer_sdk.tap_base:Tap._handle_termination": (
        "(self, signum: 'int', frame: 'FrameType | None') -> 'None'"
    ),
    "singer_sdk.helpers._catalog:pop_deselected_record_properties": (
        "(record: 'dict[str, t.Any]', schema: 'dict', mask: 'SelectionMask',"
        " breadcrumb: 'tuple[str, ...]' = ()) -> 'None'"
    ),
}

#: The start of the line ``Stream.sync`` logs at ERROR before re-raising.
SDK_UNHANDLED_ERROR_LINE = "An unhandled error occurred"

#: Text the SDK source must still contain for this module to be right: the log
#: line matched, and what the SDK's own record path does that the fast path
#: repeats or skips.
SDK_SOURCE_TEXTS: dict[str, tuple[str, ...]] = {
    "singer_sdk.streams.core:Stream.sync": (SDK_UNHANDLED_ERROR_LINE,),
    "singer_sdk.streams.core:Stream._write_record_message": (
        "for record_message in self._generate_record_messages(record):",
        "self._tap.write_message(record_message)",
        "self.state_manager.is_flushed = False",
    ),
    "singer_sdk.streams.core:Stream._generate_record_messages": (
        "pop_deselected_record_properties(record, self.schema, self.mask)",
        "for stream_map in self.stream_maps:",
        "version=self._stream_version,",
    ),
    "singer_sdk.streams.core:Stream._process_record": (
        "for key, val in partition_context.items():",
        "self._sync_children(",
    ),
    "singer_sdk.tap_base:Tap._handle_termination": ("super()._handle_termination(signum, frame)",),
}


def is_sdk_unhandled_error_line(message: str) -> bool:
    """True for the generic line singer-sdk logs before re-raising a stream's error."""
    return message.startswith(SDK_UNHANDLED_ERROR_LINE)


class RecordPathOverrides(RESTStream[t.Any]):
    """singer-sdk's per-record path, cut to what the users stream needs.

    For a stream that moves its bookmark itself once per sync and has no child
    streams and no partitions. Mix it in before the stream's base class. The
    per-record methods do their work inline: one more call per record is
    measurable on the benchmark (docs/profiling.md).
    """

    #: When the page being emitted was received (set by the stream per page).
    extracted_at: datetime
    #: The tap the stream reads for (set by the stream: AlgoliaStream.tap).
    tap: TapAlgolia
    #: The ``version`` every RECORD carries (None: no ``version`` key); set by the stream.
    table_version: int | None

    @cached_property
    def deselects_nested_fields(self) -> bool:
        """True if the catalog deselects anything below a top-level field."""
        return any(len(crumb) > 2 and not selected for crumb, selected in self.mask.items())

    @cached_property
    def fast_record_writer(self) -> BufferedMsgSpecWriter | None:
        """The writer for RECORD lines exactly as built, or None to take the SDK's path.

        None when a stream map, flattening or a nested deselection changes the
        record, or when the tap writes with another writer (tests collect
        messages with their own).
        """
        maps = self.stream_maps
        writer = self.tap.message_writer
        plain = (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not maps[0].flattening_enabled
            and not self.deselects_nested_fields
        )
        return writer if plain and isinstance(writer, BufferedMsgSpecWriter) else None

    @override
    def request_records(self, context: Context | None) -> Iterable[dict]:
        """singer-sdk's paged requests, refused for a stream with child streams or partitions.

        ``_process_record`` below does nothing, so a child stream would never
        be synced and partition keys never copied into records. Checked here
        because it runs before the first request of every sync (``Stream.sync``
        is final) and hands back the SDK's own generator, so it costs nothing
        per record. (Partitions only found in a state file are left to the
        SDK, as before.)
        """
        declares_partitions = type(self).partitions is not Stream.partitions
        if self.child_streams or declares_partitions:
            what = "child streams" if self.child_streams else "partitions"
            msg = (
                f"Stream {self.name!r} has {what}, but tap_algolia.sdk_internals."
                "RecordPathOverrides skips singer-sdk's _process_record, which handles "
                f"them: remove that override before adding {what}"
            )
            raise TypeError(msg)
        return super().request_records(context)

    @override
    def _increment_stream_state(
        self,
        latest_record: Record,
        *,
        context: Context | None = None,
    ) -> None:
        """Track nothing per record: the stream sets its bookmark once per sync."""
        return

    @override
    def _process_record(
        self,
        record: Record,
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        """Nothing to do per record: no partitions, no child streams (see request_records)."""
        return

    @override
    def _write_record_message(self, record: Record) -> None:
        """Write one RECORD; the common case skips building a RecordMessage."""
        writer = self.fast_record_writer
        if writer is None:
            super()._write_record_message(record)
            return
        writer.write_record(
            self.name, record, version=self.table_version, time_extracted=self.extracted_at
        )
        self.state_manager.is_flushed = False

    @override
    def _generate_record_messages(self, record: Record) -> Generator[RecordMessage, None, None]:
        """singer-sdk's RECORD generation, minus the deselection walk when nothing nested is."""
        if self.deselects_nested_fields:
            pop_deselected_record_properties(record, self.schema, self.mask)
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self.table_version,
                    time_extracted=self.extracted_at,
                )


class TerminationOverride(Tap):
    """Routes singer-sdk's SIGTERM/SIGINT handler to :meth:`exit_on_signal`."""

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        self.exit_on_signal(signum)

    def exit_on_signal(self, signum: int) -> None:
        """Called on SIGTERM or SIGINT; must end the process."""
        raise NotImplementedError
