"""What becomes of a record that is not applied: reason codes, rejection, the reject-share bound.

Every path names its outcomes with the codes below (stable keys for the
summary counters and the rejects file), raises :class:`RecordRejected` for a
record it cannot apply, and meets Algolia's answers through one rule,
:func:`api_answer`: a refused key (401/403) stops the run, any other answer
not worth retrying rejects that user's records (``api_refused``), a 404 is the
caller's to read.

max_rejected_fraction: a run in which too many records were rejected fails.
The rule: when more than ``max_rejected_fraction`` of the records a run read
were rejected (any reason code of the rejects table: a bad user ID, a bad
segment, an unknown event, out of scope, nested too deep, refused by Algolia), the run exits
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

import contextlib
import typing as t

from algolia_api import (
    AlgoliaFatalError,
    AuthenticationError,
    ForbiddenError,
    NotFoundError,
    describe_failure,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from target_algolia.summary import RunStats

# Reason codes: stable keys for counters and the rejects file.
INVALID_USER_ID = "invalid_user_id"
INVALID_SEGMENT = "invalid_segment"
UNKNOWN_EVENT = "unknown_event"
NOT_AN_AUDIENCE_RECORD = "not_an_audience_record"
AMBIGUOUS_RECORD = "ambiguous_record"
PROFILE_NOT_FOUND = "profile_not_found"
API_REFUSED = "api_refused"
FILTERED_BY_TRIGGER = "filtered_by_trigger"
OUT_OF_SCOPE = "out_of_scope"  # a mirror stream's record names an audience it does not own
TOO_DEEP = "too_deep"  # nested deeper than the reader reads (input.depth)
#: Codes of the mirror plan: a listed profile it cannot address, or spares.
UNADDRESSABLE_PROFILE = "unaddressable_profile"
USER_ID_CASE_CONFLICT = "user_id_case_conflict"
#: Skip code: an erasure request whose source row was deleted asks for nothing.
ERASURE_REQUEST_DELETED = "erasure_request_deleted"


class RecordRejected(Exception):
    """A record that cannot be applied; ``code`` is one of the reason codes above."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@contextlib.contextmanager
def api_answer(on_refused: t.Callable[[], None]) -> Iterator[None]:
    """The API-error rule, written once, around every call that reads, writes or deletes a profile.

    A 401/403 (the key, its ACLs, the application ID or the region) ends the
    run: ``on_refused`` stops the other workers, then the error goes on. A 404
    goes on as it is: it means something different to a read, a write and a
    delete. Any other answer not worth retrying is this user's alone and
    becomes ``RecordRejected(API_REFUSED)``; a retriable one was retried by
    the client already.
    """
    try:
        yield
    except NotFoundError:
        raise
    except (AuthenticationError, ForbiddenError):
        on_refused()
        raise
    except AlgoliaFatalError as exc:
        raise RecordRejected(API_REFUSED, describe_failure(exc)) from None


MAX_REJECTED_FRACTION = "max_rejected_fraction"


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
