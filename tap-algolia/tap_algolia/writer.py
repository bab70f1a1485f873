"""Singer message writer: singer-sdk's msgspec encoder, flushed per batch, not per record."""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage


class BufferedMsgSpecWriter(MsgSpecWriter):
    """Like MsgSpecWriter, but RECORD lines are not flushed one by one.

    Lines still leave in order through stdout's buffer; every other message
    (SCHEMA, STATE, ...) flushes, so a STATE line never waits behind unsent
    records, and a target sees each bookmark as soon as it is emitted.
    """

    def write_message(self, message: Message) -> None:
        out = sys.stdout.buffer
        out.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            out.flush()
