"""How deep the target reads a record: one nested too deep costs only itself.

A RECORD (a message line, or a line of a BATCH file) whose record nests arrays
and objects more than :data:`MAX_RECORD_DEPTH` levels deep (the record object
itself is level 1) is rejected as ``too_deep``: counted in the summary, written
to the rejects file with every array or object below that level replaced by
:data:`CUT_MARK`, and the STATE after it moves on. Python's JSON decoder ends
with a RecursionError somewhere under 1,000 levels, so a deeper record could
not be read at all; the limit lies well inside what the decoder and everything
after it (stream maps, the rejects file) handle.

The reader only cuts and marks such a record (:data:`CUT_FIELD`); each sink
(audience, mirror, erasure) asks :func:`refuse_cut_record` before it reads a
field, and a mirror stream with such a record proves nothing.

Any other message nested that deep (a STATE, a SCHEMA...) stops the run with
one line: no STATE is emitted past it. (Deeper than about 450 levels, a STATE
used to end the run with a RecursionError traceback as it was copied.)

Only a line holding more than :data:`MAX_RECORD_DEPTH` brackets can be that
deep, so every other line is decoded as it is, at the cost of counting its
brackets.
"""

from __future__ import annotations

import re
import typing as t

from singer_sdk.singerlib.exceptions import InvalidInputLine

from algolia_api import nesting_depth
from target_algolia.outcomes import TOO_DEEP, RecordRejected

#: Levels of arrays and objects a record may nest (the record itself is level 1).
MAX_RECORD_DEPTH = 200

#: What stands in the rejects file for an array or object nested too deep.
CUT_MARK = f"(nested deeper than {MAX_RECORD_DEPTH} levels: not read)"

#: The record field that carries, from the reader to the sink, why a record
#: was cut (removed before the record is rejected; no other code reads it).
CUT_FIELD = "__target_algolia_too_deep__"

# A JSON string, a bracket, a run of anything else, or a lone quote (bad JSON,
# which the decoder then reports).
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|[^"\[\]{}]+|"', re.DOTALL)


def cut_below(text: str, levels: int) -> str:
    """``text`` with each array or object that opens below ``levels`` replaced by CUT_MARK."""
    out: list[str] = []
    depth = 0
    mark = f'"{CUT_MARK}"'
    for token in _TOKEN.findall(text):
        opens = token in ("[", "{")
        closes = token in ("]", "}")
        if opens:
            depth += 1
            if depth == levels + 1:
                out.append(mark)
        if depth <= levels:
            out.append(token)
        if closes:
            depth -= 1
    return "".join(out)


def decode_record_line(
    line: str, decode: t.Callable[[str], t.Any], *, record_level: int = 2
) -> t.Any:
    """``line`` decoded; a RECORD nested too deep comes back cut and marked (CUT_FIELD).

    ``record_level``: the level of the record object in the line (2 in a
    message line, 1 in a BATCH file, whose lines are records).
    """
    limit = MAX_RECORD_DEPTH + record_level - 1
    if line.count("[") + line.count("{") <= limit:
        # No deeper than its brackets (some may sit in strings): the common case, in C.
        return decode(line)
    depth = nesting_depth(line)
    if depth <= limit:
        return decode(line)
    value = decode(cut_below(line, limit))
    record = value.get("record") if record_level == 2 and isinstance(value, dict) else value
    if isinstance(record, dict) and (record_level == 1 or value.get("type") == "RECORD"):
        record[CUT_FIELD] = (
            f"record nests arrays and objects {depth - record_level + 1} levels deep; "
            f"at most {MAX_RECORD_DEPTH} are read"
        )
        return value
    kind = value.get("type") if isinstance(value, dict) else None
    msg = (
        f"a {kind if isinstance(kind, str) else 'JSON'} line nests arrays and objects "
        f"{depth} levels deep; at most {limit} are read"
    )
    raise InvalidInputLine(msg)


def refuse_cut_record(record: dict[str, t.Any]) -> None:
    """Raise RecordRejected(too_deep) if the reader cut ``record`` (every sink asks first)."""
    why = record.pop(CUT_FIELD, None)
    if why is not None:
        raise RecordRejected(TOO_DEEP, str(why))
