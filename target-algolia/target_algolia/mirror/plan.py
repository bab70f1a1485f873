"""Mirror mode, part 2: plan from one list scan, check the guards, then write.

The plan is made from one paged scan of ``GET /2/users`` and nothing is
written while it is made, so the guards can stop the run before any write.
The scan is a set: a profile listed twice (overlapping pages) is planned,
counted and re-read once. Planning is pure (:class:`MirrorPlanner`: pages in,
a :class:`Plan` out) and so are the guards (:func:`guard_problems`); only
:class:`MirrorRun` reads, logs and writes.

Guards, for each proven stream **and for each audience in its scope**:

- an audience with no members (no row names it; ``segments: []`` names
  none) that some profile holds is refused unless
  ``mirror_allow_empty_audience`` is set: it would be taken from everyone;
- the profiles that would lose it may not exceed ``mirror_max_removals``,
  nor ``mirror_max_removal_fraction`` of the distinct profiles holding it now
  (the same two limits hold for the stream's audiences together).

A profile is never planned to lose a segment when the target cannot be sure
it is not a member:

- a listed profile whose ID is outside Algolia's user-ID rules cannot be
  addressed: it is a per-profile reject (``unaddressable_profile``), the rest
  of the plan goes on;
- a profile whose ID differs only in letter case from a member's ID that has
  no profile of its own (``Alice`` in the source, ``alice`` in Algolia) keeps
  its segments (``user_id_case_conflict``): user IDs are case-sensitive, and
  a source that changed their case would otherwise make every member look
  departed.

Then each changed profile is read again and written (``GET`` + ``PUT``): the
plan is complete only after the last page, so writing from the scanned copy
would leave the whole scan as the window in which another system's write is
overwritten; the re-read keeps it to one round trip. The change is recomputed
on the fresh copy, so a profile edited or deleted since the scan is handled
as it is now. Every profile only ever gets its desired state, so a crash at
any point followed by a rerun converges.

Only segments with our ``segment_source`` and an ID in a proven stream's
scope are ever removed. Without proof, a stream's members get their segments
added and nothing is removed.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from algolia_api import MAX_PAGE_SIZE, user_id_problem
from target_algolia.merge import Action, Change, apply_change, diff_segments, segments_of
from target_algolia.outcomes import UNADDRESSABLE_PROFILE, USER_ID_CASE_CONFLICT
from target_algolia.settings import DEFAULT_MAX_REMOVAL_FRACTION, DEFAULT_MAX_REMOVALS

if t.TYPE_CHECKING:
    import logging

    from target_algolia.merge import Trigger
    from target_algolia.mirror.membership import Membership, Proof
    from target_algolia.write.writer import ProfileWriter

#: User IDs shown per kind of change when a plan is printed.
SAMPLE_SIZE = 10

#: Changed profiles handed to the worker pool at a time (bounds the queued tasks).
APPLY_CHUNK = 1000


class MirrorGuardError(Exception):
    """The plan trips a guard: the run stops before any write of the plan."""


@dataclass(frozen=True)
class Guards:
    allow_empty_audience: bool = False
    max_removals: int = DEFAULT_MAX_REMOVALS
    max_removal_fraction: float = DEFAULT_MAX_REMOVAL_FRACTION


@dataclass
class AudiencePlan:
    """Plan figures for one audience in a mirror stream's scope."""

    members: int = 0  # distinct members in the input
    holders: int = 0  # distinct profiles holding it now (our source)
    losing: int = 0
    gaining: int = 0


@dataclass
class StreamPlan:
    """Plan figures for one mirror stream (its audiences together, and each)."""

    proof: Proof
    holders: int = 0  # distinct profiles holding one of its in-scope segments now
    losing: int = 0  # profiles that would lose one
    gaining: int = 0  # profiles that would gain one
    segments_added: int = 0
    segments_removed: int = 0
    audiences: dict[str, AudiencePlan] = field(default_factory=dict)


@dataclass
class Plan:
    streams: dict[str, StreamPlan]
    #: user ID -> (segments added, segments removed), in scan order.
    changes: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    #: Members the scan never showed (no profile), once across streams.
    unseen: list[str] = field(default_factory=list)
    #: Listed profiles the API rules refuse, with the in-scope segments they hold.
    unaddressable: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    #: (profile ID, member ID) pairs that differ only in letter case: removals spared.
    case_conflicts: list[tuple[str, str]] = field(default_factory=list)
    profiles_scanned: int = 0
    listed_twice: int = 0
    members_seen: int = 0
    others_changed: int = 0  # of the changes, profiles of non-members (losing segments)
    sample_added: list[str] = field(default_factory=list)
    sample_removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[str]:
        return list(self.changes)

    @property
    def unseen_members(self) -> int:
        return len(self.unseen)

    @property
    def segments_added(self) -> int:
        return sum(len(added) for added, _ in self.changes.values())

    @property
    def segments_removed(self) -> int:
        return sum(len(removed) for _, removed in self.changes.values())


class MirrorPlanner:
    """The desired state of every profile, and the plan from one scan: no I/O."""

    def __init__(
        self,
        memberships: t.Mapping[str, Membership],
        proofs: t.Mapping[str, Proof],
        *,
        source: str,
        trigger: Trigger,
    ) -> None:
        self.memberships = memberships
        self.proofs = proofs
        self.source = source
        self.trigger = trigger
        self._removing = [m for name, m in memberships.items() if proofs[name].proven]
        self._scopes = {name: m.scope for name, m in memberships.items()}
        self._all_scope: frozenset[str] = frozenset().union(*self._scopes.values())
        self._removing_scope: frozenset[str] = frozenset().union(*(m.scope for m in self._removing))
        #: Profiles that keep every segment (a user-ID case conflict).
        self.spared: set[str] = set()

    def change_for(self, user_id: str) -> Change:
        """What the mirror streams want for ``user_id``, whatever it holds now."""
        actions: dict[str, Action] = {}
        if self.trigger.applies_entries:
            for membership in self.memberships.values():
                for slug in membership.members.get(user_id, ()):
                    actions[slug] = Action.ADD
        if self.trigger.applies_exits and user_id not in self.spared:
            for membership in self._removing:
                listed = membership.members.get(user_id, ())
                for slug in sorted(membership.scope.difference(listed)):
                    actions[slug] = Action.REMOVE
        return Change(actions)

    def is_member(self, user_id: str) -> bool:
        return any(user_id in m.members for m in self.memberships.values())

    def plan(self, pages: t.Iterable[t.Iterable[t.Any]]) -> Plan:
        """The plan from the scan's ``pages`` (lists of profiles)."""
        plan = Plan(
            {
                name: StreamPlan(
                    self.proofs[name],
                    audiences={
                        slug: AudiencePlan(members=m.audience_members.get(slug, 0))
                        for slug in sorted(m.scope)
                    },
                )
                for name, m in self.memberships.items()
            }
        )
        members_seen: set[str] = set()
        others_seen: set[str] = set()  # non-members holding an in-scope segment
        for page in pages:
            for profile in page:
                self._plan_profile(plan, profile, members_seen, others_seen)
        for membership in self.memberships.values():
            for user_id in membership.members:
                if user_id not in members_seen:
                    members_seen.add(user_id)  # counted once across streams
                    plan.unseen.append(user_id)
        plan.members_seen = len(members_seen) - len(plan.unseen)
        self._spare_case_conflicts(plan)
        self._count(plan)
        return plan

    def _plan_profile(
        self, plan: Plan, profile: t.Any, members_seen: set[str], others_seen: set[str]
    ) -> None:
        user_id = profile.get("userID") if isinstance(profile, dict) else None
        if not isinstance(user_id, str):
            return
        current = segments_of(profile)
        held = {
            s["id"]
            for s in current
            if isinstance(s, dict)
            and s.get("source") == self.source
            and isinstance(s.get("id"), str)
        }
        in_scope = held & self._all_scope
        member = self.is_member(user_id)
        # A scan is a set: a profile listed again (overlapping pages) was planned already.
        seen = members_seen if member else others_seen if in_scope else None
        if seen is not None:
            if user_id in seen:
                plan.listed_twice += 1
                return
            seen.add(user_id)
        plan.profiles_scanned += 1
        for name, scope in self._scopes.items():
            holding = in_scope & scope
            if holding:
                figures = plan.streams[name]
                figures.holders += 1
                for slug in holding:
                    figures.audiences[slug].holders += 1
        if not member and not in_scope & self._removing_scope:
            return
        merged = apply_change(current, self.change_for(user_id), self.source)
        if merged == current:
            return
        diff = diff_segments(current, merged, self.source)
        problem = user_id_problem(user_id)
        if problem:  # listed by Algolia, yet no request can name it
            plan.unaddressable.append((user_id, problem, tuple(sorted(in_scope))))
            return
        plan.changes[user_id] = (diff.added, diff.removed)

    def _spare_case_conflicts(self, plan: Plan) -> None:
        """Keep the segments of a profile whose ID is an unseen member's but for case."""
        if not plan.unseen:
            return
        losing = [user_id for user_id, (_, removed) in plan.changes.items() if removed]
        if not losing:
            return
        folded: dict[str, str] = {}
        for member in plan.unseen:
            folded.setdefault(member.casefold(), member)
        for user_id in losing:
            namesake = folded.get(user_id.casefold())
            if namesake is None:
                continue
            self.spared.add(user_id)
            plan.case_conflicts.append((user_id, namesake))
            added, _ = plan.changes[user_id]
            if added:  # additions do not depend on the removals spared
                plan.changes[user_id] = (added, ())
            else:
                del plan.changes[user_id]

    def _count(self, plan: Plan) -> None:
        for user_id, (added, removed) in plan.changes.items():
            if added and len(plan.sample_added) < SAMPLE_SIZE:
                plan.sample_added.append(user_id)
            if removed and len(plan.sample_removed) < SAMPLE_SIZE:
                plan.sample_removed.append(user_id)
            plan.others_changed += not self.is_member(user_id)
            for name, scope in self._scopes.items():
                figures = plan.streams[name]
                gained = [slug for slug in added if slug in scope]
                lost = [slug for slug in removed if slug in scope]
                figures.segments_added += len(gained)
                figures.segments_removed += len(lost)
                figures.gaining += bool(gained)
                figures.losing += bool(lost)
                for slug in gained:
                    figures.audiences[slug].gaining += 1
                for slug in lost:
                    figures.audiences[slug].losing += 1


@dataclass(frozen=True)
class GuardProblem:
    """One tripped guard: what it found, and the setting that would let it pass."""

    words: str
    setting: str


def guard_problems(plan: Plan, guards: Guards) -> list[GuardProblem]:
    """Every guard the plan trips, for each proven stream and each audience of its scope."""
    problems: list[GuardProblem] = []
    for name, figures in plan.streams.items():
        if not figures.proof.proven:
            continue
        if not guards.allow_empty_audience:
            for slug, audience in figures.audiences.items():
                if audience.members == 0 and audience.losing:
                    problems.append(
                        GuardProblem(
                            f"stream {name} proved audience {slug} empty (no row names it), "
                            f"which would remove it from all {audience.losing} profiles "
                            "holding it",
                            "mirror_allow_empty_audience=true",
                        )
                    )
        limits = [(f"stream {name}", "segments", figures.losing, figures.holders)]
        limits += [
            (f"audience {slug} of stream {name}", slug, a.losing, a.holders)
            for slug, a in figures.audiences.items()
        ]
        for what, removed, losing, holders in limits:
            if not losing:
                continue
            fraction = losing / max(holders, 1)
            if losing > guards.max_removals:
                setting = f"mirror_max_removals={guards.max_removals}"
            elif fraction > guards.max_removal_fraction:
                setting = f"mirror_max_removal_fraction={guards.max_removal_fraction:g}"
            else:
                continue
            problems.append(
                GuardProblem(
                    f"{what} would remove {removed} from {losing} of the {holders} profiles "
                    f"holding {'them' if removed == 'segments' else 'it'} ({fraction:.0%}), "
                    f"over {setting}",
                    setting.split("=")[0],
                )
            )
    return problems


class MirrorRun:
    """Plan, guard and apply every mirror stream of one run."""

    def __init__(
        self,
        memberships: t.Mapping[str, Membership],
        *,
        writer: ProfileWriter,
        guards: Guards,
        trigger: Trigger,
        plan_path: str | None,
        user_id_field: str,
        logger: logging.Logger,
    ) -> None:
        self.memberships = memberships
        self.user_id_field = user_id_field
        self.writer = writer
        self.guards = guards
        self.trigger = trigger
        self.plan_path = plan_path
        self.logger = logger
        self.proofs = {name: m.proof() for name, m in memberships.items()}
        self.planner = MirrorPlanner(
            memberships, self.proofs, source=writer.source, trigger=trigger
        )

    def change_for(self, user_id: str) -> Change:
        """What the mirror streams want for ``user_id``, whatever it holds now."""
        return self.planner.change_for(user_id)

    # The run --------------------------------------------------------------------

    def run(self) -> Plan | None:
        """Plan, guard, and (unless a dry run) apply; raise MirrorGuardError to stop."""
        active = {n: m for n, m in self.memberships.items() if m.received_anything}
        if not active:
            return None
        for name, membership in active.items():
            self._log_proof(name, membership)
        # Other streams' batches may have been written already (STATE is held back).
        written_before = self.writer.stats.writes
        plan = self.planner.plan(self._pages())
        self._report(plan)
        self._log_plan(plan)
        self._check_guards(plan, written_before)
        if self.writer.dry_run:
            stats = self.writer.stats
            stats.count("would_write", len(plan.changes))
            stats.count("segments_added", plan.segments_added)
            stats.count("segments_removed", plan.segments_removed)
            self.logger.info("Dry run: the plan above was not applied")
            return plan
        self._apply(plan)
        return plan

    def _pages(self) -> t.Iterator[list[t.Any]]:
        for page in self.writer.client.iter_user_pages(limit=MAX_PAGE_SIZE):
            self.writer.stats.count("scan_pages")
            yield page

    def _log_proof(self, name: str, membership: Membership) -> None:
        proof = self.proofs[name]
        if proof.proven:
            self.logger.info(
                "Mirror stream %s: %d members, proven complete (%s)",
                name,
                len(membership.members),
                proof.how,
            )
        else:
            self.logger.warning(
                "Mirror stream %s: %d members, NOT proven complete (%s): "
                "adding segments only, removals skipped",
                name,
                len(membership.members),
                proof.how,
            )
        if membership.duplicates:
            self.logger.warning(
                "Mirror stream %s: %d duplicated rows (a user and audiences an earlier row "
                "named), counted once, e.g. %s",
                name,
                membership.duplicates,
                membership.duplicate_sample,
            )
            self.writer.stats.skip("duplicate_row", membership.duplicates)

    def _check_guards(self, plan: Plan, written_before: int) -> None:
        problems = guard_problems(plan, self.guards)
        if not problems:
            return
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        if self.writer.dry_run or not written_before:
            written = "nothing was written"
        else:
            written = (
                f"nothing of the plan was written, but {written_before} profiles of other "
                "streams' batches were written earlier in this run (no STATE was emitted, "
                "so the rerun replays them)"
            )
        setting = first.setting.split("=")[0]
        advice = (
            f"Set {first.setting} if the audience really is empty."
            if setting == "mirror_allow_empty_audience"
            else f"Check the source, then raise {setting} to apply it."
        )
        msg = f"Mirror guard: {first.words}{more}; {written}. {advice}"
        if self.writer.dry_run:
            for problem in problems:
                self.logger.warning(
                    "Dry run: a real run would stop here. Mirror guard: %s", problem.words
                )
            return
        raise MirrorGuardError(msg)

    def _report(self, plan: Plan) -> None:
        """Count and record what the plan leaves out: no profile, unaddressable, case."""
        writer = self.writer
        for user_id in plan.unseen:
            writer.not_found(user_id, self._records(user_id))
        for user_id, problem, held in plan.unaddressable:
            writer.reject(
                UNADDRESSABLE_PROFILE,
                f"Algolia lists this profile, but {problem}, so no request can name it: its "
                "segments stay as they are (fix or delete the profile in Algolia)",
                user_id=user_id,
                records=[({"userID": user_id, "segments": list(held)}, self._stream_of(held))],
            )
        for user_id, member in plan.case_conflicts:
            writer.reject(
                USER_ID_CASE_CONFLICT,
                f"its ID differs only in letter case from member {member!r}, who has no "
                "profile: its segments are not removed (user IDs are case-sensitive; check "
                f"the case of {self.user_id_field} in the source)",
                user_id=user_id,
                records=[({"userID": user_id, "member": member}, self._streams_naming(member))],
                skipped=True,
            )
        if plan.listed_twice:
            self.logger.warning(
                "Mirror scan: %d profiles were listed more than once (overlapping pages); "
                "each is planned and counted once",
                plan.listed_twice,
            )
        writer.stats.count("users", plan.members_seen + plan.others_changed)

    def _stream_of(self, held: tuple[str, ...]) -> str:
        return next(
            (name for name, m in self.memberships.items() if m.scope.intersection(held)), ""
        )

    def _streams_naming(self, user_id: str) -> str:
        return ",".join(name for name, m in self.memberships.items() if user_id in m.members)

    def _records(self, user_id: str) -> list[tuple[dict[str, t.Any], str]]:
        """What the input said about ``user_id``, for the rejects file (records are not kept)."""
        said = [
            ({self.user_id_field: user_id, "segments": list(m.members[user_id])}, name)
            for name, m in self.memberships.items()
            if user_id in m.members
        ]
        return said or [({self.user_id_field: user_id, "segments": []}, "(absent)")]

    def _log_plan(self, plan: Plan) -> None:
        for name, figures in plan.streams.items():
            line = (
                f"Mirror plan for {name}: {figures.segments_added} segments to add on "
                f"{figures.gaining} profiles, {figures.segments_removed} to remove from "
                f"{figures.losing} of the {figures.holders} profiles holding them"
            )
            if not figures.proof.proven:
                line += " (removals skipped: not proven complete)"
            elif len(figures.audiences) > 1:
                line += "; by audience: " + ", ".join(
                    f"{slug} {a.members} members, -{a.losing} of {a.holders} holders"
                    for slug, a in figures.audiences.items()
                )
            outcome = (
                "proven"
                if figures.proof.proven
                else f"unproven:removals_skipped:{figures.proof.missing}"
            )
            self.writer.stats.note_mirror(
                name, f"{outcome}/+{figures.segments_added}/-{figures.segments_removed}"
            )
            self.logger.info("%s", line)
        self.logger.info(
            "Mirror plan: %d of %d scanned profiles change, %d members have no profile; "
            "sample adding %s, sample removing %s%s",
            len(plan.changes),
            plan.profiles_scanned,
            plan.unseen_members,
            plan.sample_added,
            plan.sample_removed,
            f"; full plan in {self.plan_path}" if self.plan_path else "",
        )
        if self.plan_path:
            with Path(self.plan_path).open("w", encoding="utf-8") as plan_file:
                for user_id, (added, removed) in plan.changes.items():
                    line_ = {"userID": user_id, "add": list(added), "remove": list(removed)}
                    plan_file.write(json.dumps(line_) + "\n")

    # Applying: re-read and write each changed profile -----------------------------

    def _apply(self, plan: Plan) -> None:
        writer = self.writer
        changed = plan.changed
        with writer.worker_pool(len(changed)) as pool:
            for start in range(0, len(changed), APPLY_CHUNK):
                writer.run_parallel(
                    pool,
                    [
                        partial(
                            writer.sync_change,
                            user_id,
                            self.change_for(user_id),
                            self._records(user_id),
                        )
                        for user_id in changed[start : start + APPLY_CHUNK]
                    ],
                )
