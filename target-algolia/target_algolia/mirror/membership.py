"""Mirror mode, part 1: which streams are mirrors, what their input says, and proof of it.

A mirror stream carries the complete current membership of the audiences in
its scope (for example a warehouse table of current members, read
FULL_TABLE). A member who left is simply absent, so the target removes the
in-scope segments of every profile absent from the input, but only once the
input is **proven complete**. The end of input proves nothing: Meltano closes
the target's stdin when the tap exits, whether the tap finished or died.

Two kinds of evidence, per stream; **every piece present must pass and at
least one must be there** (a failing one vetoes a passing one):

- the version: an ``ACTIVATE_VERSION`` for version V that arrives after the
  stream's last record passes when every record carried V and V was begun by
  this run (see :func:`version_problem`: a classic tap resumes an interrupted
  sync under the same version, in the next process, and sends only the
  remaining rows before ACTIVATE_VERSION). It fails when a record carried
  another version (or none), or V is older than this run. With no record
  before it, it is no evidence either way (a tap that sends it first and dies
  looks the same as an empty table). Without such an
  ACTIVATE_VERSION (singer-sdk taps send theirs before the first record,
  which proves nothing) the records' versions still testify: more than one
  version, or one older than this run, fails;
- a count column (``count_field``), e.g. ``COUNT(*)`` joined onto every row of
  the audience view: it passes when it is the same integer on every row and
  equals the **distinct** rows that arrived, and fails otherwise. A row is a
  duplicate when its user was already named and it names no audience of that
  user not named before; duplicates are counted once and reported. A row
  with no user ID that only carries the count (a LEFT JOIN of the count onto
  an empty table) proves an empty audience.

A rejected record makes the input incomplete: no proof then. A row with
``segments: []`` names a user who is in none of the audiences: not a member.
Segment values follow the one trim rule (:func:`~target_algolia.merge.clean_text`).
This module only collects; :mod:`target_algolia.mirror.plan` plans, guards
and writes.
"""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass, field
from decimal import Decimal

from algolia_api import user_id_problem
from target_algolia import PROCESS_STARTED_AT

if t.TYPE_CHECKING:
    from target_algolia.settings import MirrorStream

from target_algolia.input.depth import refuse_cut_record
from target_algolia.input.source_fields import is_deleted, present, segment_list, whole_number
from target_algolia.merge import EventKind, clean_text, parse_event, segment_id_problem
from target_algolia.numbers import shown
from target_algolia.outcomes import (
    AMBIGUOUS_RECORD,
    INVALID_SEGMENT,
    INVALID_USER_ID,
    OUT_OF_SCOPE,
    UNKNOWN_EVENT,
    RecordRejected,
)

#: The record field singer-sdk fills with the RECORD message's ``version``
#: (sinks that include SDC metadata properties, as mirror sinks do).
VERSION_FIELD = "_sdc_table_version"


#: A version begun up to this many seconds before the target process started
#: still counts as this run's. Tap and target are started together (``meltano
#: run``, a shell pipe) and a tap makes its version after its own start, so a
#: fresh version lies after the target's start but for the order in which the
#: two were spawned and, for a version in seconds, its truncation (under 1 s).
#: A resumed sync's version dates from the interrupted run, which had to make
#: it, fail, end its own target, and be started again: longer than this,
#: unless a classic tap crashes within about 2 s of beginning its sync and is
#: restarted at once (see the README, "Residual risks").
VERSION_START_MARGIN_SECONDS = 2.0

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
        return (
            "version_not_a_sync_start",
            f"version {_as_written(version)} is not a sync-start time",
        )
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
class Proof:
    proven: bool
    #: The reason, in words, for the log line.
    how: str
    #: Why there is no proof, as a short code for the summary line ("" if proven).
    missing: str = ""


#: Duplicated rows' user IDs kept per stream to show in the log line.
DUPLICATE_SAMPLE = 5


class _Written(str):
    """A list or object from the input, kept (as a set member) as its JSON text."""


def _hashable(value: t.Any) -> t.Any:
    """``value`` as a set member: a whole number as an int (``3.0`` is 3), a list or
    object from a bad source as its JSON text."""
    if isinstance(value, (float, Decimal)):
        number = whole_number(value)
        return value if number is None else number
    return value if value is None or isinstance(value, (str, int)) else _Written(shown(value))


def _as_written(value: t.Any) -> str:
    """A count or version for a message, as the input wrote it (JSON)."""
    return value if isinstance(value, _Written) else shown(value)


@dataclass
class Membership:
    """Everything one run's input says about one mirror stream's audiences."""

    config: MirrorStream
    user_id_field: str
    #: When this run began (epoch seconds): versions from before it prove nothing.
    run_started_at: float = PROCESS_STARTED_AT
    #: user ID -> the in-scope audiences it is a member of (sorted, shared tuples);
    #: a user whose rows name no audience (``segments: []``) is not a member.
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Distinct members of each audience in scope.
    audience_members: dict[str, int] = field(default_factory=dict)
    #: Users seen only in rows that name no audience (to tell their repeats).
    empty_rows: set[str] = field(default_factory=set)
    rows: int = 0
    #: Rows that named nothing an earlier row had not (counted once).
    duplicates: int = 0
    duplicate_sample: list[str] = field(default_factory=list)
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
    def distinct_rows(self) -> int:
        return self.rows - self.duplicates

    @property
    def received_anything(self) -> bool:
        return bool(self.rows or self.rejected or self.counts or self.activated is not None)

    def add_record(self, record: dict[str, t.Any]) -> None:
        """Take one RECORD; raises RecordRejected (counted as rejected) if unusable."""
        self.activated = None  # an ACTIVATE_VERSION only proves what came before it
        try:
            refuse_cut_record(record)  # nested too deep (input.depth): not read at all
        except RecordRejected:
            self.rejected += 1  # an input with a rejected record proves nothing
            raise
        self.versions.add(_hashable(record.get(VERSION_FIELD)))  # 1.7e9 is 1700000000
        count_field = self.config.count_field
        if count_field is not None:
            raw = present(record.get(count_field))
            count = whole_number(raw)  # "30" from a CSV file is 30
            self.counts.add(_hashable(raw) if count is None else count)
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
        if is_deleted(record):
            return  # a row deleted at the source: counted as a row, not a member
        self._add_member(t.cast(str, user_id), slugs)

    def _add_member(self, user_id: str, slugs: tuple[str, ...]) -> None:
        known = self.members.get(user_id)
        if known is None:
            if not slugs:  # a user in none of the audiences: not a member
                if user_id in self.empty_rows:
                    self._duplicate(user_id)
                else:
                    self.empty_rows.add(user_id)
                return
            self.empty_rows.discard(user_id)
            new, merged = slugs, slugs
        else:
            new = tuple(slug for slug in slugs if slug not in known)
            if not new:
                self._duplicate(user_id)
                return
            merged = tuple(sorted(set(known).union(new)))
        for slug in new:
            self.audience_members[slug] = self.audience_members.get(slug, 0) + 1
        self.members[user_id] = self._shared.setdefault(merged, merged)

    def _duplicate(self, user_id: str) -> None:
        self.duplicates += 1
        if len(self.duplicate_sample) < DUPLICATE_SAMPLE:
            self.duplicate_sample.append(user_id)

    def activate(self, version: t.Any) -> None:
        self.activated = version
        self.activated_at = time.time()

    def _is_count_marker(self, record: dict[str, t.Any]) -> bool:
        return present(record.get("segment")) is None and not present(record.get("segments"))

    def _slugs(self, record: dict[str, t.Any]) -> tuple[str, ...]:
        event = present(record.get("event"))
        if event is not None and parse_event(event) is not EventKind.ENTER:
            raise RecordRejected(
                UNKNOWN_EVENT,
                f"mirror stream {self.config.stream!r} carries current members; "
                f"event {shown(event)} has no meaning there",
            )
        listed = present(record.get("segments"))
        single = present(record.get("segment"))
        if listed is not None and single is not None:
            raise RecordRejected(
                AMBIGUOUS_RECORD, "record has both 'segments' and 'segment'; send one form"
            )
        # " vip " is vip, as on every path; a string of segments is read as
        # source_fields says (a JSON array or a comma list, whole or not at all)
        if listed is not None:
            slugs = segment_list(listed)
        else:
            single = clean_text(single)
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

    def proof(self, *, now: float | None = None) -> Proof:
        """Whether this input is the complete membership, and why (or why not).

        Every piece of evidence present must pass, and one must be present.
        """
        if self.rejected:
            return Proof(False, f"{self.rejected} of its records were rejected", "rejected_records")
        passing: list[str] = []
        failing: list[tuple[str, str]] = []
        self._version_evidence(passing, failing, time.time() if now is None else now)
        self._count_evidence(passing, failing)
        if failing:
            code = failing[0][0]
            how = "; ".join(words for _, words in failing)
            if passing:
                how += f" (which vetoes {' and '.join(passing)})"
            return Proof(False, how, code)
        if passing:
            return Proof(True, " and ".join(passing))
        count_field = self.config.count_field
        return Proof(
            False,
            "no ACTIVATE_VERSION after its records"
            + (f" and no {count_field} column" if count_field is not None else "")
            + " (the end of input proves nothing)",
            "no_proof",
        )

    def _version_evidence(
        self, passing: list[str], failing: list[tuple[str, str]], now: float
    ) -> None:
        versions = self.versions
        if self.activated is not None and not versions:
            # No record came before it: a singer-sdk tap sends ACTIVATE_VERSION
            # first, so this is as likely a tap that died before its first row
            # as an empty table. Neither passes nor fails (an empty table is
            # proven by its count row).
            return
        if self.activated is not None:
            others = versions - {self.activated}
            if others:
                listed = ", ".join(sorted(_as_written(v) for v in others)[:3])
                failing.append(
                    (
                        "version_mismatch",
                        f"ACTIVATE_VERSION {self.activated} after its records, but records "
                        f"carry another version ({listed}): rows from another sync",
                    )
                )
                return
            problem = version_problem(
                self.activated, run_started_at=self.run_started_at, received_at=self.activated_at
            )
            if problem is None:
                passing.append(f"ACTIVATE_VERSION {self.activated} after its records")
            else:
                failing.append(
                    (problem[0], f"ACTIVATE_VERSION after its records, but {problem[1]}")
                )
            return
        if len(versions) > 1:
            listed = ", ".join(sorted(_as_written(v) for v in versions)[:3])
            failing.append(
                (
                    "version_mismatch",
                    f"records carry {len(versions)} versions ({listed}): "
                    "rows from more than one sync",
                )
            )
        elif versions and None not in versions:
            (version,) = versions
            problem = version_problem(version, run_started_at=self.run_started_at, received_at=now)
            if problem is not None:
                failing.append((problem[0], f"the records' {problem[1]}"))

    def _count_evidence(self, passing: list[str], failing: list[tuple[str, str]]) -> None:
        count_field = self.config.count_field
        if count_field is None:
            return
        distinct = self.distinct_rows
        repeats = f" ({self.duplicates} duplicated rows counted once)" if self.duplicates else ""
        if len(self.counts) != 1:
            failing.append(
                (
                    "count_mismatch",
                    f"{count_field} is not the same on every row"
                    if self.counts
                    else f"no row carried {count_field}",
                )
            )
            return
        (count,) = self.counts
        if not isinstance(count, int) or isinstance(count, bool):
            what = "missing (null or empty)" if count is None else _as_written(count)
            failing.append(
                (
                    "count_not_a_number",
                    f"{count_field} is {what} on its rows, not a whole number (an integer, "
                    "or a string of digits), so it cannot prove the rows complete",
                )
            )
            return
        if count == distinct:
            passing.append(f"{count_field}={count} matches the {distinct} distinct rows received")
        else:
            failing.append(
                (
                    "count_mismatch",
                    f"{count_field} says {count} but {distinct} distinct rows arrived{repeats}",
                )
            )
