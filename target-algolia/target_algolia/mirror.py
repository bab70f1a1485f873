"""Mirror mode, part 1: which streams are mirrors, what their input says, and proof of it.

A mirror stream carries the complete current membership of the audiences in
its scope (for example a warehouse table of current members, read
FULL_TABLE). A member who left is simply absent, so the target removes the
in-scope segments of every profile absent from the input, but only once the
input is **proven complete**. The end of input proves nothing: Meltano closes
the target's stdin when the tap exits, whether the tap finished or died.

Accepted proofs, per stream:

- ``ACTIVATE_VERSION`` for version V arrives after the stream's last record,
  every record of the stream carried version V (classic Singer taps send it
  after the last record; singer-sdk taps only before the first one, which
  proves nothing), and V was begun by this run (see :func:`version_problem`):
  a classic tap resumes an interrupted sync under the same version, in the
  next process, and sends only the remaining rows before ACTIVATE_VERSION;
- a count column (``count_field``), e.g. ``COUNT(*) OVER ()`` in the audience
  view, whose value is the same on every row and equals the rows that
  arrived. A row with no user ID that only carries the count (a LEFT JOIN of
  the count onto an empty table) proves an empty audience.

A rejected record makes the input incomplete: no proof then. This module only
collects; :mod:`target_algolia.mirror_plan` plans, guards and writes.
"""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass, field

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from algolia_api import user_id_problem
from target_algolia import PROCESS_STARTED_AT
from target_algolia.merge import clean_text, segment_id_problem
from target_algolia.profile_writer import (
    AMBIGUOUS_RECORD,
    INVALID_SEGMENT,
    INVALID_USER_ID,
    OUT_OF_SCOPE,
    UNKNOWN_EVENT,
    RecordRejected,
)
from target_algolia.source_fields import is_deleted, present, segment_list, whole_number

#: The record field singer-sdk fills with the RECORD message's ``version``
#: (sinks that include SDC metadata properties, as mirror sinks do).
VERSION_FIELD = "_sdc_table_version"

#: Guard defaults: a mirror run that would remove segments from more profiles
#: than this, or from more than this share of the profiles holding the
#: stream's audiences, stops before any write (a truncated table is 100%).
DEFAULT_MAX_REMOVALS = 1000
DEFAULT_MAX_REMOVAL_FRACTION = 0.5


#: A version begun up to this many seconds before the target process started
#: still counts as this run's: tap and target start together under ``meltano
#: run``, and a seconds version is truncated. A resumed sync's version dates
#: from the interrupted run, which also had to start, fail and be rerun.
VERSION_START_MARGIN_SECONDS = 10.0

#: Versions at or above this are millisecond epochs (classic taps); below it,
#: second epochs (singer-sdk taps). 1e11 s is the year 5138, 1e11 ms is 1973.
MILLISECOND_VERSIONS_FROM = 10**11

#: No sync began before 2000-01-01: an earlier instant is a counter or a date
#: written as a number (1, 20260101), not a sync-start time.
EARLIEST_SYNC_START = 946_684_800.0


def version_problem(
    version: t.Any, *, run_started_at: float, received_at: float
) -> tuple[str, str] | None:
    """Why ``version`` does not prove this run's input complete (code, words), or None.

    Taps make the version from the clock when a FULL_TABLE sync begins (seconds
    for singer-sdk taps, milliseconds for classic ones). Only a sync begun by
    this run proves that this process saw all of it: an earlier version means a
    resumed sync whose first rows went to an earlier process.
    """
    if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
        return "version_not_a_sync_start", f"version {version!r} is not a sync-start time"
    instant = version / 1000 if version >= MILLISECOND_VERSIONS_FROM else float(version)
    unit = "ms" if version >= MILLISECOND_VERSIONS_FROM else "s"
    if instant < EARLIEST_SYNC_START:
        return "version_not_a_sync_start", f"version {version} is not a sync-start time"
    if instant > received_at + VERSION_START_MARGIN_SECONDS:
        return (
            "version_not_a_sync_start",
            f"version {version} ({unit} epoch) lies in the future, not a sync-start time",
        )
    earlier = run_started_at - instant
    if earlier > VERSION_START_MARGIN_SECONDS:
        return (
            "version_before_this_run",
            f"version {version} ({unit} epoch) began {_duration(earlier)} before this run "
            "started: a resumed sync, whose first rows went to an earlier run",
        )
    return None


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


@dataclass(frozen=True)
class MirrorStream:
    """One entry of the ``mirror_streams`` setting."""

    stream: str
    audiences: frozenset[str]
    count_field: str | None = None


def parse_mirror_streams(raw: t.Any) -> dict[str, MirrorStream]:
    """The ``mirror_streams`` setting by stream name; overlapping scopes are refused."""
    if raw in (None, []):
        return {}
    problems: list[str] = []
    streams: dict[str, MirrorStream] = {}
    owner: dict[str, str] = {}
    if not isinstance(raw, list):
        raise ConfigValidationError(
            "Invalid target settings", errors=["mirror_streams must be a list of objects"]
        )
    for position, item in enumerate(raw):
        where = f"mirror_streams[{position}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object with stream and audiences")
            continue
        name = item.get("stream")
        audiences = item.get("audiences")
        count_field = item.get("count_field")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.stream must be a non-empty string")
            continue
        if name in streams:
            problems.append(f"stream {name!r} is named twice in mirror_streams")
            continue
        if not isinstance(audiences, list) or not audiences:
            problems.append(f"{where}.audiences must be a non-empty list of audience IDs")
            continue
        bad = [slug for slug in audiences if segment_id_problem(slug)]
        if bad:
            problems.append(f"{where}.audiences has invalid audience IDs: {bad[:3]!r}")
            continue
        if count_field is not None and (not isinstance(count_field, str) or not count_field):
            problems.append(f"{where}.count_field must be a non-empty string")
            continue
        for slug in audiences:
            if slug in owner and owner[slug] != name:
                problems.append(
                    f"audience {slug!r} is in the scope of two mirror streams, "
                    f"{owner[slug]!r} and {name!r}: each audience needs one source of truth"
                )
            owner[slug] = name
        streams[name] = MirrorStream(name, frozenset(audiences), count_field)
    if problems:
        raise ConfigValidationError("Invalid target settings", errors=problems)
    return streams


@dataclass(frozen=True)
class Proof:
    proven: bool
    #: The reason, in words, for the log line.
    how: str
    #: Why there is no proof, as a short code for the summary line ("" if proven).
    missing: str = ""


@dataclass
class Membership:
    """Everything one run's input says about one mirror stream's audiences."""

    config: MirrorStream
    user_id_field: str
    #: When this run began (epoch seconds): versions from before it prove nothing.
    run_started_at: float = PROCESS_STARTED_AT
    #: user ID -> the in-scope audiences it is a member of (sorted, shared tuples).
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rows: int = 0
    rejected: int = 0
    versions: set[t.Any] = field(default_factory=set)
    #: Version of an ACTIVATE_VERSION received after the stream's last record.
    activated: t.Any = None
    #: When that ACTIVATE_VERSION arrived (epoch seconds).
    activated_at: float = 0.0
    counts: set[t.Any] = field(default_factory=set)
    _shared: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    @property
    def scope(self) -> frozenset[str]:
        return self.config.audiences

    @property
    def received_anything(self) -> bool:
        return bool(self.rows or self.rejected or self.counts or self.activated is not None)

    def add_record(self, record: dict[str, t.Any]) -> None:
        """Take one RECORD; raises RecordRejected (counted as rejected) if unusable."""
        self.activated = None  # an ACTIVATE_VERSION only proves what came before it
        self.versions.add(record.get(VERSION_FIELD))
        count_field = self.config.count_field
        if count_field is not None:
            raw = present(record.get(count_field))
            count = whole_number(raw)
            self.counts.add(raw if count is None else count)
        user_id = present(record.get(self.user_id_field))
        if user_id is None and count_field is not None and self._is_count_marker(record):
            return  # only carries the count (an empty audience's LEFT JOIN row)
        self.rows += 1
        try:
            slugs = self._slugs(record)
            problem = user_id_problem(user_id)
            if problem:
                raise RecordRejected(INVALID_USER_ID, f"{problem} in field {self.user_id_field!r}")
        except RecordRejected:
            self.rejected += 1
            raise
        user_id = t.cast(str, user_id)
        if is_deleted(record):
            return  # a row deleted at the source: counted as a row, not a member
        known = self.members.get(user_id, ())
        merged = tuple(sorted(set(known).union(slugs))) if known else slugs
        self.members[user_id] = self._shared.setdefault(merged, merged)

    def activate(self, version: t.Any) -> None:
        self.activated = version
        self.activated_at = time.time()

    def _is_count_marker(self, record: dict[str, t.Any]) -> bool:
        return present(record.get("segment")) is None and not present(record.get("segments"))

    def _slugs(self, record: dict[str, t.Any]) -> tuple[str, ...]:
        event = present(record.get("event"))
        if event is not None and (not isinstance(event, str) or event.strip().lower() != "enter"):
            raise RecordRejected(
                UNKNOWN_EVENT,
                f"mirror stream {self.config.stream!r} carries current members; "
                f"event {event!r} has no meaning there",
            )
        listed = present(record.get("segments"))
        single = clean_text(present(record.get("segment")))
        if listed is not None and single is not None:
            raise RecordRejected(
                AMBIGUOUS_RECORD, "record has both 'segments' and 'segment'; send one form"
            )
        if listed is not None:
            slugs = segment_list(listed)
        else:
            problem = segment_id_problem(single)
            if problem:
                raise RecordRejected(INVALID_SEGMENT, problem)
            slugs = [single]
        for slug in slugs:
            if slug not in self.scope:
                raise RecordRejected(
                    OUT_OF_SCOPE,
                    f"audience {slug!r} is not in the scope of mirror stream "
                    f"{self.config.stream!r} ({', '.join(sorted(self.scope))})",
                )
        return tuple(sorted(set(slugs)))

    def proof(self) -> Proof:
        """Whether this input is the complete membership, and why (or why not)."""
        if self.rejected:
            return Proof(False, f"{self.rejected} of its records were rejected", "rejected_records")
        not_this_run = None
        if self.activated is not None and self.versions <= {self.activated}:
            not_this_run = version_problem(
                self.activated, run_started_at=self.run_started_at, received_at=self.activated_at
            )
            if not_this_run is None:
                return Proof(True, f"ACTIVATE_VERSION {self.activated} after its records")
        count_field = self.config.count_field
        if count_field is not None and len(self.counts) == 1:
            (count,) = self.counts
            if isinstance(count, int) and not isinstance(count, bool) and count == self.rows:
                return Proof(True, f"{count_field}={count} matches the {self.rows} rows received")
            if not isinstance(count, int) or isinstance(count, bool):
                what = "missing (null or empty)" if count is None else f"{count!r}"
                return Proof(
                    False,
                    f"{count_field} is {what} on its rows, not a whole number (an integer, "
                    "or a string of digits), so it cannot prove the rows complete",
                    "count_not_a_number",
                )
            return Proof(
                False,
                f"{count_field} says {count!r} but {self.rows} rows arrived",
                "count_mismatch",
            )
        if count_field is not None and len(self.counts) > 1:
            return Proof(False, f"{count_field} is not the same on every row", "count_mismatch")
        if not_this_run is not None:
            code, words = not_this_run
            return Proof(False, f"ACTIVATE_VERSION after its records, but {words}", code)
        return Proof(
            False,
            "no ACTIVATE_VERSION after its records"
            + (f" and no {count_field} column" if count_field is not None else "")
            + " (the end of input proves nothing)",
            "no_proof",
        )


MIRROR_PROPERTIES = th.PropertiesList(
    th.Property(
        "mirror_streams",
        th.ArrayType(
            th.ObjectType(
                th.Property("stream", th.StringType, required=True),
                th.Property("audiences", th.ArrayType(th.StringType), required=True),
                th.Property("count_field", th.StringType),
            )
        ),
        title="Mirror streams",
        description=(
            "Streams that carry the complete current membership of some audiences: "
            "[{stream, audiences, count_field}]. Once a stream's input is proven "
            "complete (ACTIVATE_VERSION after its records, or count_field matching "
            "the rows received), profiles absent from it lose its audiences' "
            "segments. Each audience may belong to one stream only."
        ),
    ),
    th.Property(
        "mirror_allow_empty_audience",
        th.BooleanType,
        default=False,
        title="Allow an empty mirror audience",
        description="Apply a proven-complete mirror stream with no members (removes everyone).",
    ),
    th.Property(
        "mirror_max_removals",
        th.IntegerType(minimum=0),
        default=DEFAULT_MAX_REMOVALS,
        title="Most profiles a mirror run may remove from",
        description=(
            "A mirror stream whose plan removes segments from more profiles than "
            "this stops the run before any write."
        ),
    ),
    th.Property(
        "mirror_max_removal_fraction",
        th.NumberType(minimum=0, maximum=1),
        default=DEFAULT_MAX_REMOVAL_FRACTION,
        title="Largest share of holders a mirror run may remove from",
        description=(
            "A mirror stream whose plan removes segments from more than this "
            "fraction of the profiles holding its audiences now stops the run "
            "before any write."
        ),
    ),
    th.Property(
        "mirror_plan_path",
        th.StringType,
        title="Mirror plan file",
        description=(
            "Optional JSON Lines file that receives the whole mirror plan, one "
            '{"userID", "add", "remove"} per changed profile (with dry_run: '
            "what a real run would do)."
        ),
    ),
)
