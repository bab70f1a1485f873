"""Pure merge rules: audience events and snapshots -> one segment-list change per user.

Nothing here does I/O. A batch's records for one user are turned into
operations (:func:`event_operation`, :func:`snapshot_operation`), folded in
input order into one :class:`Change` (:func:`reduce_changes`) and applied to the
profile's current segment list (:func:`apply_change`).

A :class:`Change` says, for each audience slug the target manages, whether the
segment must end up present (``ADD``), absent (``REMOVE``) or stay as it is
(``KEEP``); slugs the change does not name get its ``default``. Each
operation pins a slug to a constant or leaves it alone, so composing a change
with itself gives the same change: merges are idempotent, and replaying input
after a crash converges.
"""

from __future__ import annotations

import enum
import typing as t
from dataclasses import dataclass, field

from algolia_api import is_valid_text, json_kind, profile_problem
from target_algolia.segment_text import invisible_character_problem

MAX_SEGMENT_ID_LENGTH = 256

Segment = dict[str, t.Any]


class Action(enum.Enum):
    """What a change does to one managed slug."""

    KEEP = "keep"
    ADD = "add"
    REMOVE = "remove"


class Trigger(str, enum.Enum):
    """Which membership transitions the target applies (setting ``trigger_events``)."""

    ENTRY = "entry"
    EXIT = "exit"
    BOTH = "both"

    @property
    def applies_entries(self) -> bool:
        return self is not Trigger.EXIT

    @property
    def applies_exits(self) -> bool:
        return self is not Trigger.ENTRY


class EventKind(str, enum.Enum):
    ENTER = "enter"
    EXIT = "exit"


@dataclass(frozen=True)
class Change:
    """The net effect of a run of operations on one user's managed segments.

    ``actions`` keeps insertion order: segments added to a profile are appended
    in the order of their last entry in the input.
    """

    actions: t.Mapping[str, Action] = field(default_factory=dict)
    default: Action = Action.KEEP

    def action_for(self, slug: str) -> Action:
        return self.actions.get(slug, self.default)

    @property
    def is_noop(self) -> bool:
        return self.default is Action.KEEP and all(
            action is Action.KEEP for action in self.actions.values()
        )


NO_CHANGE = Change()


def _then(first: Action, second: Action) -> Action:
    """The action of doing ``first`` and then ``second`` to one slug."""
    return first if second is Action.KEEP else second


def compose(first: Change, second: Change) -> Change:
    """The change equal to applying ``first`` and then ``second``."""
    actions: dict[str, Action] = {}
    for slug, action in first.actions.items():
        actions[slug] = _then(action, second.action_for(slug))
    for slug, action in second.actions.items():
        if action is Action.ADD and slug in actions:
            # Asked for again: new segments go in the order of their last entry.
            # (Ordering by a last occurrence keeps compose(c, c) == c exactly.)
            del actions[slug]
        actions[slug] = _then(first.action_for(slug), action)
    return Change(actions=actions, default=_then(first.default, second.default))


def reduce_changes(changes: t.Iterable[Change]) -> Change:
    """Fold a user's operations, in input order, into one change."""
    result = NO_CHANGE
    for change in changes:
        result = compose(result, change)
    return result


def event_operation(slug: str, event: EventKind, trigger: Trigger) -> Change | None:
    """The change one enter/exit event asks for, or None if ``trigger`` ignores it."""
    if event is EventKind.ENTER:
        return Change({slug: Action.ADD}) if trigger.applies_entries else None
    return Change({slug: Action.REMOVE}) if trigger.applies_exits else None


def snapshot_operation(slugs: t.Iterable[str], trigger: Trigger) -> Change:
    """The change a complete membership list asks for.

    Listed slugs are added (unless only exits apply); managed segments that are
    not listed are removed (unless only entries apply).
    """
    listed = list(dict.fromkeys(slugs))
    if trigger is Trigger.BOTH:
        return Change(dict.fromkeys(listed, Action.ADD), default=Action.REMOVE)
    if trigger is Trigger.ENTRY:
        return Change(dict.fromkeys(listed, Action.ADD), default=Action.KEEP)
    return Change(dict.fromkeys(listed, Action.KEEP), default=Action.REMOVE)


class MalformedProfileError(ValueError):
    """A read that is not a profile: never the basis of a write (``str()`` says why)."""


def segments_of(profile: t.Any) -> list[Segment]:
    """A profile's segment list: an absent field is an empty list, a malformed one an error.

    Only an absent ``segments`` on a real profile means "no segments" (the
    segments contract). ``null``, a string, an object or entries that are not
    ``{id, source}`` raise MalformedProfileError: merging into "no segments"
    and writing would remove every other system's segments. The rule is
    algolia_api's (:func:`algolia_api.profile_problem`); the client already
    refuses such answers, so this is the last check before a merge.
    """
    problem = profile_problem(profile)
    if problem is not None:
        raise MalformedProfileError(problem)
    return t.cast("list[Segment]", profile.get("segments", []))


def _key(segment: t.Any) -> tuple[t.Any, t.Any] | None:
    if isinstance(segment, dict):
        return (segment.get("id"), segment.get("source"))
    return None


def apply_change(current: t.Sequence[Segment], change: Change, source: str) -> list[Segment]:
    """The segment list a profile holds after ``change``.

    Segments of other sources are kept untouched and in place. A managed
    segment (``source`` equal to ``source``) is removed when the change says
    REMOVE for its id. Segments to add that are not already there are appended
    at the end, in the change's order. Duplicate (id, source) pairs, which
    Algolia refuses on write, are collapsed to their first occurrence.
    """
    result: list[Segment] = []
    seen: set[tuple[t.Any, t.Any]] = set()
    for segment in current:
        key = _key(segment)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
            if key[1] == source and change.action_for(str(key[0])) is Action.REMOVE:
                continue
        result.append(segment)
    for slug, action in change.actions.items():
        if action is Action.ADD and (slug, source) not in seen:
            seen.add((slug, source))
            result.append({"id": slug, "source": source})
    return result


@dataclass(frozen=True)
class Diff:
    """What a write changes, for logs and counters."""

    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def diff_segments(before: t.Sequence[Segment], after: t.Sequence[Segment], source: str) -> Diff:
    """Managed slugs added and removed between two segment lists."""
    old = [s.get("id") for s in before if isinstance(s, dict) and s.get("source") == source]
    new = [s.get("id") for s in after if isinstance(s, dict) and s.get("source") == source]
    old_set, new_set = set(old), set(new)
    return Diff(
        added=tuple(str(i) for i in new if i not in old_set),
        removed=tuple(str(i) for i in dict.fromkeys(old) if i not in new_set),
    )


#: Why text with a lone surrogate is refused: input bytes that are not UTF-8
#: (read with surrogateescape) or a ``\ud800`` escape in the JSON line.
NOT_UTF8 = (
    "{what} is not valid UTF-8 text (the input line holds bytes that are not UTF-8, "
    "or a lone surrogate escape such as \\ud800)"
)


def clean_text(value: t.Any) -> t.Any:
    """The one rule for text a record names a segment or an event with.

    Surrounding whitespace is dropped (``" vip "`` is ``vip``, ``"   "`` is
    empty and so rejected); control and other invisible characters such as NUL
    are never trimmed away, and make a value invalid (:func:`segment_id_problem`,
    :mod:`~target_algolia.segment_text`, :func:`parse_event`).
    Anything but a string is returned as is, for the checks to refuse.
    """
    return value.strip(" \t\r\n\f\v\u00a0") if isinstance(value, str) else value


def segment_id_problem(value: t.Any) -> str | None:
    """Say why ``value`` (after :func:`clean_text`) cannot be a segment id, or None if it can."""
    if value is None:
        return "missing segment"
    if not isinstance(value, str):
        return f"segment is not a string (got {json_kind(value)})"
    if not value:
        return "empty segment"
    problem = invisible_character_problem("segment", value)
    if problem:
        return problem
    if not is_valid_text(value):
        return NOT_UTF8.format(what="segment")
    if len(value) > MAX_SEGMENT_ID_LENGTH:
        return f"segment is {len(value)} characters long; the limit is {MAX_SEGMENT_ID_LENGTH}"
    return None


def parse_event(value: t.Any) -> EventKind | None:
    """``enter`` or ``exit``, case-insensitive, after :func:`clean_text`; else None."""
    if not isinstance(value, str):
        return None
    try:
        return EventKind(clean_text(value).lower())
    except ValueError:
        return None
