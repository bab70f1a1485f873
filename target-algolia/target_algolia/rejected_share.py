"""max_rejected_fraction: a run in which too many records were rejected fails.

The rule: when more than ``max_rejected_fraction`` of the records a run read
were rejected (any reason code of the rejects table: a bad user ID, a bad
segment, an unknown event, out of scope, refused by Algolia), the run exits
non-zero with one line naming the setting, after it has applied every valid
record. A run that read no records never fails this way. Records skipped for
``profile_not_found`` or ignored by ``trigger_events`` are not rejected.

STATE: while the share of rejected records read so far is over the bound, no
STATE is emitted, and a failed run emits none at the end. The valid records
are applied all the same; the next run reads the same input again (merges are
idempotent, so re-applying them changes nothing), and once the cause is fixed
(a column mapping, ``user_id_field``, a stream map) the records rejected before
are applied too instead of lying behind a bookmark. STATE emitted after an
earlier batch, while the share was within the bound, stays emitted.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

if t.TYPE_CHECKING:
    from target_algolia.summary import RunStats

#: Half: a run whose input is mostly unusable (a column mapped wrongly, a CSV
#: whose segments column is in another format) fails; stray bad rows do not.
DEFAULT_MAX_REJECTED_FRACTION = 0.5

MAX_REJECTED_FRACTION = "max_rejected_fraction"

REJECTED_SHARE_PROPERTIES = th.PropertiesList(
    th.Property(
        MAX_REJECTED_FRACTION,
        th.NumberType(minimum=0, maximum=1),
        default=DEFAULT_MAX_REJECTED_FRACTION,
        title="Largest share of rejected records",
        description=(
            "A run in which more than this fraction of the records were rejected "
            "exits non-zero once the valid ones are written, and emits no STATE for "
            "its input, so the next run reads it again. 0: any rejected record "
            "fails the run; 1: never. A run with no records never fails."
        ),
    ),
)


class TooManyRejectedError(Exception):
    """More than max_rejected_fraction of the run's records were rejected."""


def rejected_share(stats: RunStats) -> tuple[int, int]:
    """(records rejected, records read) so far."""
    return sum(stats.rejected.values()), stats.records


def over_bound(stats: RunStats, bound: float) -> bool:
    """Whether the share of rejected records read so far is over ``bound``."""
    rejected, records = rejected_share(stats)
    return records > 0 and rejected / records > bound


def too_many_rejected(stats: RunStats, bound: float) -> TooManyRejectedError:
    """The one-line failure for a run over the bound."""
    rejected, records = rejected_share(stats)
    reasons = ", ".join(f"{code} {n}" for code, n in stats.rejected.most_common())
    setting = MAX_REJECTED_FRACTION
    return TooManyRejectedError(
        f"Run failed: {rejected} of {records} records were rejected ({rejected / records:.0%}: "
        f"{reasons}), more than {setting}={bound:g}. The valid ones were written and no "
        "STATE was emitted, so the next run reads this input again: check the rejected "
        f"records (rejects_path), fix the source or its mapping, or raise {setting}."
    )
