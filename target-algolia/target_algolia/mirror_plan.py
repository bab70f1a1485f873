"""Mirror mode, part 2: plan from one list scan, check the guards, then write.

The plan is made from one paged scan of ``GET /2/users`` and nothing is
written while it is made, so the guards can stop the run before any write:

- a proven-complete stream with no members at all is refused unless
  ``mirror_allow_empty_audience`` is set;
- if the profiles that would lose in-scope segments of a stream exceed
  ``mirror_max_removals``, or ``mirror_max_removal_fraction`` of the profiles
  holding that stream's in-scope segments now, the run stops, nothing written.

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

import contextlib
import json
import typing as t
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from algolia_api import MAX_PAGE_SIZE
from target_algolia.merge import Action, Change, apply_change, diff_segments, segments_of
from target_algolia.mirror import DEFAULT_MAX_REMOVAL_FRACTION, DEFAULT_MAX_REMOVALS

if t.TYPE_CHECKING:
    import logging

    from target_algolia.merge import Trigger
    from target_algolia.mirror import Membership, Proof
    from target_algolia.profile_writer import ProfileWriter

#: User IDs shown per kind of change when a plan is printed.
SAMPLE_SIZE = 10

#: Changed profiles handed to the worker pool at a time (bounds the queued tasks).
APPLY_CHUNK = 1000


class MirrorGuardError(Exception):
    """The plan trips a guard: the run stops before any write."""


@dataclass(frozen=True)
class Guards:
    allow_empty_audience: bool = False
    max_removals: int = DEFAULT_MAX_REMOVALS
    max_removal_fraction: float = DEFAULT_MAX_REMOVAL_FRACTION


@dataclass
class StreamPlan:
    """Plan figures for one mirror stream."""

    proof: Proof
    holders: int = 0  # profiles holding one of its in-scope segments now
    losing: int = 0  # profiles that would lose one
    gaining: int = 0  # profiles that would gain one
    segments_added: int = 0
    segments_removed: int = 0


@dataclass
class Plan:
    streams: dict[str, StreamPlan]
    changed: list[str] = field(default_factory=list)
    unseen_members: int = 0
    profiles_scanned: int = 0
    others_changed: int = 0  # of those, profiles losing segments
    sample_added: list[str] = field(default_factory=list)
    sample_removed: list[str] = field(default_factory=list)


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
        self._removing = [m for name, m in memberships.items() if self.proofs[name].proven]

    # The desired state ----------------------------------------------------------

    def change_for(self, user_id: str) -> Change:
        """What the mirror streams want for ``user_id``, whatever it holds now."""
        actions: dict[str, Action] = {}
        for membership in self.memberships.values():
            listed = membership.members.get(user_id, ())
            if self.trigger.applies_entries:
                for slug in listed:
                    actions[slug] = Action.ADD
        if self.trigger.applies_exits:
            for membership in self._removing:
                listed = membership.members.get(user_id, ())
                for slug in sorted(membership.scope.difference(listed)):
                    actions[slug] = Action.REMOVE
        return Change(actions)

    # The run --------------------------------------------------------------------

    def run(self) -> Plan | None:
        """Plan, guard, and (unless a dry run) apply; raise MirrorGuardError to stop."""
        active = {n: m for n, m in self.memberships.items() if m.received_anything}
        if not active:
            return None
        for name, membership in active.items():
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
        self._check_empty(active)
        plan = self._plan()
        self._log_plan(plan)
        self._check_removals(plan)
        if self.writer.dry_run:
            self.logger.info("Dry run: the plan above was not applied")
            return plan
        self._apply(plan)
        return plan

    def _check_empty(self, active: t.Mapping[str, Membership]) -> None:
        if self.guards.allow_empty_audience:
            return
        for name, membership in active.items():
            if self.proofs[name].proven and not membership.members:
                msg = (
                    f"Mirror guard: stream {name} proved an empty audience "
                    f"({', '.join(sorted(membership.scope))}), which would remove every "
                    "member; nothing was written. Set mirror_allow_empty_audience=true "
                    "if the audience really is empty."
                )
                raise MirrorGuardError(msg)

    def _check_removals(self, plan: Plan) -> None:
        for name, figures in plan.streams.items():
            if not figures.losing:
                continue
            fraction = figures.losing / max(figures.holders, 1)
            setting = None
            if figures.losing > self.guards.max_removals:
                setting = f"mirror_max_removals={self.guards.max_removals}"
            elif fraction > self.guards.max_removal_fraction:
                setting = f"mirror_max_removal_fraction={self.guards.max_removal_fraction:g}"
            if setting is None:
                continue
            msg = (
                f"Mirror guard: stream {name} would remove segments from {figures.losing} "
                f"of the {figures.holders} profiles holding them ({fraction:.0%}), over "
                f"{setting}; nothing was written. Check the source, then raise "
                f"{setting.split('=')[0]} to apply it."
            )
            if self.writer.dry_run:
                self.logger.warning("Dry run: a real run would stop here. %s", msg)
                continue
            raise MirrorGuardError(msg)

    # Planning: one scan, no writes ----------------------------------------------

    def _plan(self) -> Plan:
        plan = Plan({name: StreamPlan(self.proofs[name]) for name in self.memberships})
        members_seen: set[str] = set()
        scopes = {name: m.scope for name, m in self.memberships.items()}
        with contextlib.ExitStack() as stack:
            plan_file = (
                stack.enter_context(Path(self.plan_path).open("w", encoding="utf-8"))
                if self.plan_path
                else None
            )
            for page in self.writer.client.iter_user_pages(limit=MAX_PAGE_SIZE):
                self.writer.stats.count("scan_pages")
                for profile in page:
                    self._plan_profile(plan, profile, members_seen, scopes, plan_file)
        for membership in self.memberships.values():
            for user_id in membership.members:
                if user_id not in members_seen:
                    members_seen.add(user_id)  # counted once across streams
                    plan.unseen_members += 1
                    self.writer.not_found(user_id, self._records(user_id))
        self.writer.stats.count("users", len(members_seen) + plan.others_changed)
        return plan

    def _plan_profile(
        self,
        plan: Plan,
        profile: t.Any,
        members_seen: set[str],
        scopes: t.Mapping[str, frozenset[str]],
        plan_file: t.IO[str] | None,
    ) -> None:
        source = self.writer.source
        user_id = profile.get("userID") if isinstance(profile, dict) else None
        if not isinstance(user_id, str):
            return
        plan.profiles_scanned += 1
        current = segments_of(profile)
        held = {s.get("id") for s in current if isinstance(s, dict) and s.get("source") == source}
        member = any(user_id in m.members for m in self.memberships.values())
        if member:
            members_seen.add(user_id)
        for name, scope in scopes.items():
            if held & scope:
                plan.streams[name].holders += 1
        if not member and not any(held & m.scope for m in self._removing):
            return
        merged = apply_change(current, self.change_for(user_id), source)
        if merged == current:
            return
        diff = diff_segments(current, merged, source)
        plan.changed.append(user_id)
        plan.others_changed += not member
        self._count(plan, user_id, diff.added, diff.removed, scopes)
        if plan_file is not None:
            line = {"userID": user_id, "add": diff.added, "remove": diff.removed}
            plan_file.write(json.dumps(line) + "\n")

    def _count(
        self,
        plan: Plan,
        user_id: str,
        added: tuple[str, ...],
        removed: tuple[str, ...],
        scopes: t.Mapping[str, frozenset[str]],
    ) -> None:
        if added and len(plan.sample_added) < SAMPLE_SIZE:
            plan.sample_added.append(user_id)
        if removed and len(plan.sample_removed) < SAMPLE_SIZE:
            plan.sample_removed.append(user_id)
        for name, scope in scopes.items():
            figures = plan.streams[name]
            gained = [slug for slug in added if slug in scope]
            lost = [slug for slug in removed if slug in scope]
            figures.segments_added += len(gained)
            figures.segments_removed += len(lost)
            figures.gaining += bool(gained)
            figures.losing += bool(lost)

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
            len(plan.changed),
            plan.profiles_scanned,
            plan.unseen_members,
            plan.sample_added,
            plan.sample_removed,
            f"; full plan in {self.plan_path}" if self.plan_path else "",
        )

    # Applying: re-read and write each changed profile -----------------------------

    def _apply(self, plan: Plan) -> None:
        writer = self.writer
        with writer.worker_pool(len(plan.changed)) as pool:
            for start in range(0, len(plan.changed), APPLY_CHUNK):
                writer.run_parallel(
                    pool,
                    [
                        partial(
                            writer.sync_change,
                            user_id,
                            self.change_for(user_id),
                            self._records(user_id),
                        )
                        for user_id in plan.changed[start : start + APPLY_CHUNK]
                    ],
                )
