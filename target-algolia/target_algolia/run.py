"""The run's shared objects, built once by the target and handed to each sink.

The rule: a sink, a writer or an applier gets what it works with from the
:class:`Run` (the typed settings, the STATE gate, the counters, the rejects
file, the writer and its client, the mirror memberships, the erasure
requests), never from the target, so nothing below ``target`` imports it.
Each sink states in its own module, as a Protocol, the part of the run it
uses.

The writer, its client and the periodic summary are made on first use: no
separate credentials call, the run's first real call (a GET of a profile or
the first list page, before any PUT) answers 401/403 to a wrong key, ACL,
application ID or region, which ends the run in one line with nothing
written (outcomes.api_answer). That saves a call per run, and per hourly
mirror run.
"""

from __future__ import annotations

import typing as t

from algolia_api import AlgoliaClient, RateLimitPacer
from target_algolia.erasure.requests import ErasureRequests
from target_algolia.mirror.membership import Membership
from target_algolia.mirror.plan import Guards, MirrorRun
from target_algolia.outcomes import MAX_REJECTED_FRACTION, over_bound
from target_algolia.summary import PeriodicSummary, RunStats, open_rejects_file
from target_algolia.write.writer import ProfileWriter

if t.TYPE_CHECKING:
    import logging

    from target_algolia.settings import TargetSettings
    from target_algolia.state_gate import StateGate
    from target_algolia.summary import RejectsFile

#: The held work the gate knows by name (state_gate).
MIRROR_PLAN = "mirror plan"
ERASURE = "erasure"


class Run:
    """Everything one run shares between the target, its sinks and its writers."""

    def __init__(
        self,
        settings: TargetSettings,
        *,
        gate: StateGate,
        logger: logging.Logger,
        agent: str,
        arrival_clock: t.Callable[[], float],
    ) -> None:
        self.settings = settings
        self.gate = gate
        self.logger = logger
        self.agent = agent
        self.arrival_clock = arrival_clock
        self.stats = RunStats()
        # Opened now: a path that cannot be written fails before any API call.
        self.rejects: RejectsFile | None = open_rejects_file(settings.rejects_path)
        self.memberships: dict[str, Membership] = {}
        self.erasure = ErasureRequests(
            settings.erasure_streams,
            user_id_field=settings.user_id_field,
            max_profiles=settings.erasure_max_profiles,
            logger=logger,
        )
        self.client: AlgoliaClient | None = None
        self._writer: ProfileWriter | None = None
        self.periodic: PeriodicSummary | None = None
        # STATE waits for the work collected until the end of input, and for
        # the reject bound (outcomes).
        if settings.mirror_streams:
            gate.hold(MIRROR_PLAN)
        if settings.erasure_streams:
            gate.hold(ERASURE)
        gate.hold_while(self.reject_bound_exceeded)

    @property
    def writer(self) -> ProfileWriter:
        """The run's writer and client, made on first use (see the module docstring)."""
        if self._writer is None:
            settings = self.settings
            self.client = AlgoliaClient(
                settings.connection,
                agent=self.agent,
                pacer=RateLimitPacer(max_requests_per_minute=settings.max_requests_per_minute),
                pool_size=settings.concurrency,
                logger=self.logger,
            )
            self._writer = ProfileWriter(
                self.client,
                source=settings.segment_source,
                concurrency=settings.concurrency,
                dry_run=settings.dry_run,
                stats=self.stats,
                logger=self.logger,
                rejects=self.rejects,
                arrival_clock=self.arrival_clock,
                read_strategy=settings.read_strategy,
                reread_before_write=settings.reread_before_write,
                gate=self.gate,
            )
            self.periodic = PeriodicSummary(
                settings.summary_interval_seconds,
                lambda: self.summary(final=False),
                self.logger,
            )
            self.periodic.start()
            if settings.dry_run:
                self.logger.info("Dry run: profiles are read, nothing is written")
        return self._writer

    @property
    def writer_started(self) -> ProfileWriter | None:
        """The writer if one was made (a stop signal aborts it), else None."""
        return self._writer

    def membership(self, stream: str) -> Membership | None:
        """The membership collected for ``stream`` if it is a mirror stream, else None."""
        config = self.settings.mirror_streams.get(stream)
        if config is None:
            return None
        if stream not in self.memberships:
            self.memberships[stream] = Membership(config, self.settings.user_id_field)
        return self.memberships[stream]

    def reject_bound_exceeded(self) -> str | None:
        """Why STATE is held for the reject-share bound (outcomes), or None."""
        if over_bound(self.stats, self.settings.max_rejected_fraction):
            return f"more records were rejected than {MAX_REJECTED_FRACTION} allows"
        return None

    def summary(self, *, final: bool = True) -> str:
        backlog = self._writer.backlog() if self._writer is not None else (0, 0.0)
        return self.stats.summary(
            self.client, final=final, dry_run=self.settings.dry_run, backlog=backlog
        )

    def apply_erasure(self) -> None:
        """Delete the requested profiles (erasure); the gate then lets STATE out."""
        writer = self.writer
        with self.gate.applying(ERASURE):
            self.erasure.apply(writer)

    def apply_mirror(self) -> None:
        """Plan, guard and apply the mirror streams; the gate then lets STATE out."""
        with self.gate.applying(MIRROR_PLAN):
            if self.memberships:
                guards = self.settings.mirror_guards
                MirrorRun(
                    self.memberships,
                    writer=self.writer,
                    guards=Guards(
                        allow_empty_audience=guards.allow_empty_audience,
                        max_removals=guards.max_removals,
                        max_removal_fraction=guards.max_removal_fraction,
                    ),
                    trigger=self.settings.trigger,
                    plan_path=self.settings.mirror_plan_path,
                    user_id_field=self.settings.user_id_field,
                    logger=self.logger,
                ).run()

    def close(self) -> None:
        """Stop the periodic summary and close the rejects file (end of input)."""
        if self.periodic is not None:
            self.periodic.stop()
        if self.rejects is not None:
            self.rejects.close()
