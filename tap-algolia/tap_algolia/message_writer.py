"""Singer message writer: singer-sdk's msgspec encoder, with RECORD lines written in blocks."""

from __future__ import annotations

import atexit
import contextlib
import sys
import typing as t
from datetime import datetime

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage
from typing_extensions import override

#: RECORD lines are gathered up to this many bytes before one write.
BLOCK_SIZE = 1 << 18


class BufferedMsgSpecWriter(MsgSpecWriter):
    """Like MsgSpecWriter, but RECORD lines leave in blocks, not one write and flush each.

    Every other message (SCHEMA, STATE, ...) first sends the records gathered
    before it, then itself, and flushes: order is kept, and a target sees each
    bookmark as soon as it is emitted, never before the records it covers.
    Records still gathered when the process exits are written by an exit hook;
    if the process is killed they are lost, but so is any STATE after them, so
    the next run reads them again.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        atexit.register(self.flush)

    @override
    def write_message(self, message: Message) -> None:
        self._pending += self.format_message(message)
        if isinstance(message, RecordMessage) and len(self._pending) < BLOCK_SIZE:
            return
        self.flush()

    def write_record(
        self,
        stream: str,
        record: dict[str, t.Any],
        *,
        version: int | None,
        time_extracted: datetime,
    ) -> None:
        """Write one RECORD line without building a RecordMessage first.

        Byte for byte what ``write_message(RecordMessage(...))`` writes (same
        keys in the same order, msgspec's own datetime encoding), for the
        stream's plain-output fast path.
        """
        message: dict[str, t.Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            message["version"] = version
        message["time_extracted"] = time_extracted
        self._pending += serialize_jsonl(message)
        if len(self._pending) >= BLOCK_SIZE:
            self.flush()

    def flush(self) -> None:
        """Write out everything gathered so far."""
        if not self._pending:
            return
        out = sys.stdout.buffer
        with contextlib.suppress(ValueError):  # stdout already closed at exit
            out.write(self._pending)
            out.flush()
        self._pending.clear()
