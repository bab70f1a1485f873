"""max_rejected_fraction: a run in which too many records were rejected fails.

The rule: when more than ``max_rejected_fraction`` of the records a run read
were rejected (any reason code of the rejects table: a bad user ID, a bad
segment, an unknown event, out of scope, refused by Algolia), the run exits
non-zero with one line naming the setting, after it has applied every valid
record. A run that read no records never fails this way. Records skipped for
``profile_not_found`` or ignored by ``trigger_events`` are not rejected, and
neither is a profile a mirror scan listed but cannot address
(``unaddressable_profile``): it is no record of the input.

Below a bound of 1 (which turns both checks off), a run that read records and
applied none fails the same way, whatever share of them was rejected: every
record was rejected or named a user with no profile, and nothing was written
(a user ID column mapped to the wrong field looks exactly like this, and must
not show green).
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from target_algolia.mirror_plan import UNADDRESSABLE_PROFILE
from target_algolia.profile_writer import PROFILE_NOT_FOUND

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
            "fails the run; 1: never. Below 1, a run that applied none of its records "
            "(each rejected, or for a user with no profile) fails too. A run with no "
            "records never fails."
        ),
    ),
)


class TooManyRejectedError(Exception):
    """More than max_rejected_fraction of the run's records were rejected."""


#: Reject codes that name a profile Algolia listed, not a record of the input.
NOT_INPUT_REJECTS = frozenset({UNADDRESSABLE_PROFILE})


def rejected_share(stats: RunStats) -> tuple[int, int]:
    """(records rejected, records read) so far."""
    rejected = sum(n for code, n in stats.rejected.items() if code not in NOT_INPUT_REJECTS)
    return rejected, stats.records


def nothing_applied(stats: RunStats) -> bool:
    """Whether the run read records, and every one was rejected or found no profile."""
    rejected, records = rejected_share(stats)
    unusable = rejected + stats.skipped[PROFILE_NOT_FOUND]
    return records > 0 and unusable >= records and stats.writes + stats.would_write == 0


def over_bound(stats: RunStats, bound: float) -> bool:
    """Whether the share of rejected records read so far is over ``bound``, or none applied."""
    rejected, records = rejected_share(stats)
    return records > 0 and (rejected / records > bound or (bound < 1 and nothing_applied(stats)))


def too_many_rejected(stats: RunStats, bound: float) -> TooManyRejectedError:
    """The one-line failure for a run over the bound, or one that applied nothing."""
    rejected, records = rejected_share(stats)
    if rejected / records <= bound:
        missing = stats.skipped[PROFILE_NOT_FOUND]
        return TooManyRejectedError(
            f"Run failed: none of its {records} records could be applied ({rejected} rejected, "
            f"{missing} for users with no Algolia profile) and nothing was written; no STATE "
            "was emitted, so the next run reads this input again: check that user_id_field "
            "holds Algolia user IDs (rejects_path lists the records), or set "
            f"{MAX_REJECTED_FRACTION}=1 to accept such runs."
        )
    reasons = ", ".join(f"{code} {n}" for code, n in stats.rejected.most_common())
    setting = MAX_REJECTED_FRACTION
    return TooManyRejectedError(
        f"Run failed: {rejected} of {records} records were rejected ({rejected / records:.0%}: "
        f"{reasons}), more than {setting}={bound:g}. The valid ones were written and no "
        "STATE was emitted, so the next run reads this input again: check the rejected "
        f"records (rejects_path), fix the source or its mapping, or raise {setting}."
    )
