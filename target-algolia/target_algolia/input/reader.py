"""The target's Singer reader: malformed lines refused clearly, pending records written in time.

This is the one place where target-algolia changes how singer-sdk reads its
input. Four things differ from the SDK's reader:

Every malformed line becomes one InvalidInputLine.

singer-sdk's reader logs a full traceback for a line that is not JSON, and
lets a line that is JSON but not an object (``42``, ``[1, 2]``), or a RECORD
whose ``record`` is not an object, through to code that fails with an
unrelated TypeError ("'int' object is not iterable"). Here each of these, and
an unknown message type, raises InvalidInputLine with what is wrong, which the
CLI reports as one line (no STATE is emitted past the line either way).

An ACTIVATE_VERSION without a whole-number ``version`` (``1700000000``, or
``1.7e9``, read as that integer), or for a stream whose
SCHEMA has not come before it, is such a line too (singer-sdk would end the
run with a KeyError traceback): a mirror stream's proof rests on it.

Numbers are read as singer-sdk reads them (a fraction or exponent as a
Decimal), and an integer of any length exactly (:mod:`target_algolia.numbers`):
a STATE is written back as it came.

A RECORD nested deeper than the decoder goes is cut and rejected as
``too_deep`` by its sink, costing only itself (:mod:`target_algolia.input.depth`).

The input is read through :func:`target_algolia.input.max_wait.input_lines`, so the
target writes pending records (and emits STATE) when ``max_wait_seconds`` is
due even while no line arrives; see that module for the rule.
"""

from __future__ import annotations

import json
import typing as t

from singer_sdk.singerlib.exceptions import InvalidInputLine
from typing_extensions import override

from target_algolia.input.depth import decode_record_line
from target_algolia.input.max_wait import input_lines
from target_algolia.input.source_fields import whole_number
from target_algolia.numbers import decode_json, shown
from target_algolia.sdk_internals import SDKInternalsReader

if t.TYPE_CHECKING:
    from target_algolia.input.max_wait import WaitBound
    from target_algolia.input.stop_request import StopRequest

_SHOWN = 200  # characters of a bad line quoted in the message


def _excerpt(line: str) -> str:
    text = line.rstrip("\n")
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


class AudienceMessageReader(SDKInternalsReader):
    """SingerReader that refuses malformed lines with a message, not a traceback."""

    #: Set by the target: when pending records must be written, and how.
    wait_bound: WaitBound | None = None
    #: Set by the target: a stop signal's drain, done between lines (stop_request).
    stop_request: StopRequest | None = None
    #: Streams whose SCHEMA has been read (an ACTIVATE_VERSION needs one first).
    _schema_streams: set[str] | None = None

    @override
    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        # The SDK's loop is kept as it is; only the lines it iterates change.
        stream = file_input or self.default_input
        return super().process_lines(
            t.cast("t.IO[str]", input_lines(stream, self.wait_bound, self.stop_request)), callbacks
        )

    @override
    def deserialize_json(self, line: str) -> dict:
        try:
            # Numbers exact (numbers.py); a record nested too deep is cut (depth.py).
            value: t.Any = decode_record_line(line, decode_json)
        except json.JSONDecodeError as exc:
            msg = f"Unable to parse line as JSON ({exc.msg}): {_excerpt(line)!r}"
            raise InvalidInputLine(msg) from None
        if not isinstance(value, dict):
            msg = f"Line is not a JSON object: {_excerpt(line)!r}"
            raise InvalidInputLine(msg)
        if value.get("type") == "RECORD" and not isinstance(value.get("record", {}), dict):
            msg = f"RECORD's 'record' is not a JSON object: {_excerpt(line)!r}"
            raise InvalidInputLine(msg)
        kind = value.get("type")
        if kind == "SCHEMA" or kind == "ACTIVATE_VERSION":
            self._check_stream_message(kind, value, line)
        return value

    def _check_stream_message(self, kind: str, value: dict, line: str) -> None:
        if self._schema_streams is None:
            self._schema_streams = set()
        stream = value.get("stream")
        if kind == "SCHEMA":
            if isinstance(stream, str):
                self._schema_streams.add(stream)
            return
        version = whole_number(value.get("version"), text=False)  # 1.7e9 is 1700000000
        if version is None:
            msg = (
                f"ACTIVATE_VERSION without an integer 'version' "
                f"(got {shown(value.get('version'))}): {_excerpt(line)!r}"
            )
            raise InvalidInputLine(msg)
        value["version"] = version
        if stream not in self._schema_streams:
            msg = (
                f"ACTIVATE_VERSION for stream {shown(stream)}, which has no SCHEMA before it: "
                f"{_excerpt(line)!r}"
            )
            raise InvalidInputLine(msg)

    @override
    def process_unknown_message(self, message_dict: dict) -> None:
        line = _excerpt(shown(message_dict, 10 * _SHOWN))
        msg = f"Unknown message type {shown(message_dict.get('type'))}: {line}"
        raise InvalidInputLine(msg)
