"""The records of a Singer BATCH message, read one line at a time from its files.

A BATCH message (singer-sdk's extension) names files instead of carrying
records: ``{"type": "BATCH", "stream": ..., "encoding": {"format": "jsonl",
"compression": "gzip" | null}, "manifest": [url, ...]}``, each file holding one
JSON record per line.

singer-sdk's own ``Sink.process_batch_files`` loads a whole file into memory
and hands it to ``process_batch`` as a ``records`` context, past stream maps,
the record counters and the batch-size drain that RECORD messages go through.
The target instead feeds every record this module yields through the RECORD
path, so a record is applied, counted and rejected the same whichever message
carried it, and memory stays bounded by the batch size.

A file that cannot be read (missing, not gzip though the manifest says so, a
line that is not a JSON object, a format other than JSON lines) raises
:class:`BatchFileError`: the run stops with one line and no STATE past it.
"""

from __future__ import annotations

import typing as t
import zlib

import fsspec
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_algolia.input.depth import decode_record_line
from target_algolia.numbers import decode_json, shown

if t.TYPE_CHECKING:
    from collections.abc import Iterator

_COMPRESSIONS = {None: None, "none": None, "gzip": "gzip"}


class BatchFileError(Exception):
    """A BATCH message or one of its files cannot be read."""


def batch_records(message: dict[str, t.Any]) -> Iterator[dict[str, t.Any]]:
    """Every record of a BATCH message's files, in manifest order."""
    stream = message.get("stream")
    encoding = message.get("encoding")
    manifest = message.get("manifest")
    if not isinstance(encoding, dict) or not (
        isinstance(manifest, list) and all(isinstance(url, str) for url in manifest)
    ):
        msg = (
            f"BATCH message of stream {shown(stream)} needs an 'encoding' object and a "
            "'manifest' list of file URLs"
        )
        raise BatchFileError(msg)
    if encoding.get("format") != "jsonl":
        msg = (
            f"BATCH format {shown(encoding.get('format'))} of stream {shown(stream)} is not "
            "supported; send JSON lines ('jsonl'), gzip-compressed or not"
        )
        raise BatchFileError(msg)
    compression = encoding.get("compression")
    if compression not in _COMPRESSIONS:
        msg = f"BATCH compression {shown(compression)} is not supported; use 'gzip' or none"
        raise BatchFileError(msg)
    for url in manifest:
        yield from _read(url, _COMPRESSIONS[compression])


def _read(url: str, compression: str | None) -> Iterator[dict[str, t.Any]]:
    number = 0
    try:
        with fsspec.open(url, "rb", compression=compression) as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    # As on stdin (max_wait.input_lines): bytes that are not
                    # UTF-8 cost their record (rejected by the sink), not the file.
                    # Numbers exact, a record nested too deep cut (depth.py).
                    text = line.decode("utf-8", "surrogateescape")
                    value = decode_record_line(text, decode_json, record_level=1)
                except (ValueError, InvalidInputLine):  # not JSON
                    value = None
                if not isinstance(value, dict):
                    msg = f"line {number} of batch file {url} is not a JSON object"
                    raise BatchFileError(msg)
                yield value
    except BatchFileError:
        raise
    except FileNotFoundError:
        msg = f"batch file {url} does not exist (or is not readable from here)"
        raise BatchFileError(msg) from None
    except (OSError, EOFError, zlib.error, ValueError, ImportError) as exc:
        # ValueError/ImportError: a URL scheme fsspec does not know or lacks a
        # package for ("Install s3fs to access S3").
        where = f" after line {number}" if number else ""
        msg = f"cannot read batch file {url}{where}: {exc or type(exc).__name__}"
        raise BatchFileError(msg) from None
