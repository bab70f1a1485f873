"""The batch: what the pending batch holds for each user, in input order.

Every stream's accepted records go to one batch (``write.writer``), so a
user's changes from several streams are reduced together in input order.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from target_algolia.merge import Change

#: A record of the input and its stream: what a reject names.
SourceRecord = tuple[dict[str, t.Any], str]


@dataclass
class UserEntry:
    """Everything one batch holds for one user."""

    changes: list[Change] = field(default_factory=list)
    records: list[SourceRecord] = field(default_factory=list)
