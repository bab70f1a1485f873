"""target-algolia: audience memberships -> segments on Algolia user profiles."""

from __future__ import annotations

import copy
import os
import threading
import typing as t

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, RecordsWithoutSchemaException
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.singerlib.exceptions import InvalidInputLine
from typing_extensions import override

from algolia_api import (
    CONNECTION_PROPERTIES,
    MAX_REQUESTS_PER_MINUTE,
    AlgoliaClient,
    ConnectionSettings,
    RateLimitPacer,
    install_clean_errors,
    plugin_config_schema,
    secret_setting_errors,
    user_agent,
)
from target_algolia.batch_files import BatchFileError, batch_records
from target_algolia.erasure import (
    ERASURE_PROPERTIES,
    ErasureGuardError,
    ErasureRequests,
    ErasureSink,
    parse_erasure_streams,
)
from target_algolia.max_wait import DEFAULT_MAX_WAIT_SECONDS, WaitBound
from target_algolia.merge import MAX_SEGMENT_ID_LENGTH, Trigger
from target_algolia.mirror import (
    MIRROR_PROPERTIES,
    Membership,
    parse_mirror_streams,
)
from target_algolia.mirror_plan import Guards, MirrorGuardError, MirrorRun
from target_algolia.preflight import test_option
from target_algolia.profile_writer import ProfileWriter
from target_algolia.reader import AudienceMessageReader
from target_algolia.rejected_share import (
    MAX_REJECTED_FRACTION,
    REJECTED_SHARE_PROPERTIES,
    TooManyRejectedError,
    over_bound,
    too_many_rejected,
)
from target_algolia.scan import ReadStrategy
from target_algolia.sdk_internals import SDKInternalsTarget
from target_algolia.segment_text import check_segment_source
from target_algolia.sinks import AlgoliaSegmentsSink
from target_algolia.summary import (
    PeriodicSummary,
    RejectsFile,
    RejectsPathError,
    RunStats,
    open_rejects_file,
)

if t.TYPE_CHECKING:
    import logging
    from types import FrameType

    import click
    from singer_sdk.sinks import Sink

#: Upper bounds of the target's numeric settings (schema ``maximum``): a larger
#: value is a typo, and past the range of a timer or a float it would crash.
MAX_CONCURRENCY = 256
MAX_WAIT_LIMIT_SECONDS = 86_400

# After a stop signal, the longest the target waits for its workers to notice
# (a worker in a retry sleep or waiting on a slow answer) before it exits anyway.
STOP_GRACE_SECONDS = 5.0

TARGET_PROPERTIES = th.PropertiesList(
    th.Property(
        "user_id_field",
        th.StringType,
        default="algolia_user_id",
        title="User ID mapping",
        description="Record field holding the Algolia userID of the profile to update.",
    ),
    th.Property(
        "trigger_events",
        th.StringType,
        default=Trigger.BOTH.value,
        allowed_values=[trigger.value for trigger in Trigger],
        title="Trigger events",
        description=(
            "Membership changes to apply: `entry` (only add segments), `exit` "
            "(only remove them) or `both`."
        ),
    ),
    th.Property(
        "segment_source",
        # At least one character that is not whitespace, and no longer than a segment ID.
        th.StringType(min_length=1, max_length=MAX_SEGMENT_ID_LENGTH, pattern=r"\S"),
        default="meltano",
        title="Segment source",
        description=(
            "The `source` written on every segment this target manages. Only "
            "segments with this source are ever removed; all others are preserved."
        ),
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        title="Dry run",
        description=(
            "Log the change each user would get and write nothing. Profiles are "
            "still read (GET) to compute the change."
        ),
    ),
    th.Property(
        "max_requests_per_minute",
        th.IntegerType(minimum=1, maximum=MAX_REQUESTS_PER_MINUTE),
        default=400,
        title="Request budget per minute",
        description=(
            "Most API calls this run may make per minute, GETs and PUTs together. "
            "Keep it under the application's limit of 500 if other clients share it. "
            "At most 100000000."
        ),
    ),
    th.Property(
        "concurrency",
        th.IntegerType(minimum=1, maximum=MAX_CONCURRENCY),
        default=8,
        title="Concurrency",
        description=(
            "Users written in parallel within a batch (one shared request budget), 1 to 256."
        ),
    ),
    th.Property(
        "rejects_path",
        th.StringType,
        title="Rejects file",
        description=(
            "Optional JSON-lines file (`~` is expanded). Every record that was "
            "rejected, or whose profile does not exist, is appended as "
            "{record, reason, stream}."
        ),
    ),
    th.Property(
        "max_wait_seconds",
        th.NumberType(exclusive_minimum=0, maximum=MAX_WAIT_LIMIT_SECONDS),
        default=DEFAULT_MAX_WAIT_SECONDS,
        title="Longest wait before a write",
        description=(
            "Longest a record waits, from its arrival on the input, before the target "
            "starts writing it, also when the input goes quiet; the STATE after it is "
            "emitted once it is written. A full batch (batch_size_rows) is written at "
            "once. When input outruns the request budget, writes queue up and the "
            "summary reports the backlog. At most 86400 (a day)."
        ),
    ),
    th.Property(
        "read_strategy",
        th.StringType,
        default=ReadStrategy.AUTO.value,
        allowed_values=[strategy.value for strategy in ReadStrategy],
        title="Read strategy",
        description=(
            "How current segments are read: `per_user` (one GET per user with a "
            "change), `list_scan` (pages of GET /2/users, one call per 1,000 "
            "profiles; unchanged users cost nothing more) or `auto` (per user for "
            "batches under 1,000 users, else a scan that falls back to per-user "
            "reads once it has cost as many calls as users remain unseen)."
        ),
    ),
    th.Property(
        "reread_before_write",
        th.BooleanType,
        default=False,
        title="Re-read before write",
        description=(
            "With a list scan, GET each changed profile again just before its PUT: "
            "one more call per changed user, and a shorter window in which another "
            "system's write to the same profile can be overwritten."
        ),
    ),
    th.Property(
        "summary_interval_seconds",
        th.IntegerType(minimum=0, maximum=MAX_WAIT_LIMIT_SECONDS),
        default=60,
        title="Summary interval",
        description=(
            "Seconds between progress summaries on long runs (0: only at the end), at most 86400."
        ),
    ),
)


def _exit_if_still_running_after(seconds: float, logger: logging.Logger) -> None:
    """Exit the process (status 1) if it is still alive ``seconds`` from now.

    After a stop the pacer refuses every new request, so nothing is lost by not
    waiting for a worker that sleeps before a retry or waits on a slow answer.
    """

    def exit_now() -> None:
        logger.warning(
            "Still stopping after %.0f s (a retry wait or a slow answer): exiting", seconds
        )
        os._exit(1)

    timer = threading.Timer(seconds, exit_now)
    timer.daemon = True
    timer.start()


def explain_failure(error: BaseException) -> str | None:
    """The one line for a failure the target raises itself; None for any other."""
    if isinstance(error, RecordsWithoutSchemaException):
        return f"Stopped: {str(error)[:500]} No STATE is emitted past it."
    if isinstance(error, BatchFileError):
        return f"Stopped: {error}. No STATE is emitted past it."
    if isinstance(error, InvalidInputLine):
        return f"Stopped at a corrupt input line; no STATE is emitted past it. {str(error)[:500]}"
    if isinstance(
        error, (RejectsPathError, MirrorGuardError, TooManyRejectedError, ErasureGuardError)
    ):
        return str(error)
    return None


class TargetAlgolia(SDKInternalsTarget):
    """Merge audience memberships into Algolia user profile segments."""

    name = "target-algolia"
    config_jsonschema = plugin_config_schema(
        CONNECTION_PROPERTIES,
        TARGET_PROPERTIES,
        REJECTED_SHARE_PROPERTIES,
        MIRROR_PROPERTIES,
        ERASURE_PROPERTIES,
    )
    default_sink_class = AlgoliaSegmentsSink
    # Malformed lines fail with one clear line instead of a traceback or a TypeError.
    message_reader_class = AudienceMessageReader
    # Records are checked by our own rules, so the SDK's validate_records is not offered.
    capabilities: t.ClassVar[list[t.Any]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
        # Mirror streams accept ACTIVATE_VERSION after the records as a proof.
        PluginCapabilities.ACTIVATE_VERSION,
    ]

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        try:
            super().__init__(*args, **kwargs)
        except ConfigValidationError as exc:
            raise secret_setting_errors(exc, self.config_jsonschema) from None
        # Sinks share one batch and one writer; draining them one after the
        # other keeps the writer single-entry (it parallelises per user itself).
        self.max_parallelism = 1
        self.settings = ConnectionSettings.from_config(self.config)
        check_segment_source(self.config["segment_source"])  # no invisible characters
        # Refused here, at start-up: overlapping scopes, malformed entries.
        self.mirror_streams = parse_mirror_streams(self.config.get("mirror_streams"))
        # Erasure (erasure.py): its streams get their own sink; applied at end of input.
        self.erasure = ErasureRequests(
            parse_erasure_streams(self.config.get("erasure_streams"), self.mirror_streams),
            user_id_field=self.config["user_id_field"],
            max_profiles=int(self.config["erasure_max_profiles"]),
            logger=self.logger,
        )
        self._memberships: dict[str, Membership] = {}
        self._mirror_applied = False
        self.stats = RunStats()
        self._writer: ProfileWriter | None = None
        self._client: AlgoliaClient | None = None
        # Opened now: a path that cannot be written fails before any API call.
        self._rejects: RejectsFile | None = open_rejects_file(self.config.get("rejects_path"))
        self._periodic: PeriodicSummary | None = None
        self._last_emitted_state: dict | None = None
        self.wait_bound = WaitBound(
            max_wait=float(self.config["max_wait_seconds"]),
            pending_since=lambda: self._writer.pending_since if self._writer else None,
            state_unemitted=self._state_unemitted,
            write=self.drain_all,
        )
        if isinstance(self.message_reader, AudienceMessageReader):
            self.message_reader.wait_bound = self.wait_bound

    @property
    def dry_run(self) -> bool:
        return bool(self.config["dry_run"])

    @property
    def writer(self) -> ProfileWriter:
        """The run's writer, created on first use.

        No separate credentials call: the run's first real call (a GET of a
        profile or the first list page, before any PUT) answers 401/403 to a
        wrong key, ACL, app ID or region, which ends the run in one line with
        nothing written (AuthenticationError/ForbiddenError are never
        per-record outcomes). Saves a call per run, and per hourly mirror run.
        """
        if self._writer is None:
            concurrency = int(self.config["concurrency"])
            budget = int(self.config["max_requests_per_minute"])
            client = AlgoliaClient(
                self.settings,
                agent=user_agent(self.name, self.get_plugin_version()),
                pacer=RateLimitPacer(max_requests_per_minute=budget),
                pool_size=concurrency,
                logger=self.logger,
            )
            self._client = client
            self._writer = ProfileWriter(
                client,
                source=self.config["segment_source"],
                concurrency=concurrency,
                dry_run=self.dry_run,
                stats=self.stats,
                logger=self.logger,
                rejects=self._rejects,
                arrival_clock=self.wait_bound.arrival,
                read_strategy=ReadStrategy(self.config["read_strategy"]),
                reread_before_write=bool(self.config["reread_before_write"]),
            )
            self._periodic = PeriodicSummary(
                float(self.config["summary_interval_seconds"]),
                lambda: self.summary(final=False),
                self.logger,
            )
            self._periodic.start()
            if self.dry_run:
                self.logger.info("Dry run: profiles are read, nothing is written")
        return self._writer

    def state_after_flush(self) -> None:
        """Emit the latest STATE: the shared batch was just written in full.

        Every stream's records go to the one shared batch, so when it has been
        flushed every record read so far (and so every record before the latest
        STATE) is written, skipped or rejected. The SDK itself only emits STATE
        when it drains all sinks (end of input, or records older than its
        five-minute age limit); emitting here too lets a long run
        resume from its last full batch.
        """
        if self.latest_state:
            self.write_state(copy.deepcopy(self.latest_state))

    def _state_unemitted(self) -> bool:
        if self._holding_state_for_mirror or self.erasure.holding_state:
            return False  # held on purpose until the mirror plan and erasure are applied
        if self._too_many_rejected:
            return False  # held on purpose: rejects over the bound (rejected_share)
        return bool(self.latest_state) and self.latest_state != self._last_emitted_state

    @property
    def _too_many_rejected(self) -> bool:
        """More than max_rejected_fraction of the records so far were rejected."""
        return over_bound(self.stats, float(self.config[MAX_REJECTED_FRACTION]))

    @property
    def _holding_state_for_mirror(self) -> bool:
        return bool(self.mirror_streams) and not self._mirror_applied

    def mirror_membership(self, stream: str) -> Membership | None:
        """The membership collected for ``stream`` if it is a mirror stream, else None."""
        config = self.mirror_streams.get(stream)
        if config is None:
            return None
        if stream not in self._memberships:
            self._memberships[stream] = Membership(config, self.config["user_id_field"])
        return self._memberships[stream]

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        if stream_name in self.erasure.streams:
            return ErasureSink
        return super().get_sink_class(stream_name)

    @override
    def write_state(self, state: dict) -> None:
        if self._holding_state_for_mirror or self.erasure.holding_state:
            # The mirror plan and the erasure are applied at the end of input:
            # no STATE before them.
            return
        if self._too_many_rejected:
            # The next run must read this input again (rejected_share).
            return
        if state == self._last_emitted_state:
            return
        super().write_state(state)
        self._last_emitted_state = copy.deepcopy(state)

    @override
    def process_batch_message(self, message_dict: dict) -> None:
        """BATCH: each record of its files goes through the RECORD path.

        Same stream maps, counters, rejects and batch-size drain as a RECORD
        message (see batch_files for why not the SDK's process_batch_files).
        """
        self.message_reader.assert_line_requires(message_dict, requires={"stream"})
        stream = message_dict["stream"]
        for record in batch_records(message_dict):
            self.process_record_message({"type": "RECORD", "stream": stream, "record": record})

    @override
    def handle_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: never emit STATE for a batch that is only half written.

        The SDK's handler drains every sink and emits the latest STATE. Between
        batches that is right; in the middle of one (the signal interrupts the
        main thread while workers write) it would confirm records not yet
        written, so we stop the workers and exit non-zero without STATE instead.
        """
        if self._writer is not None and self._writer.flushing:
            # Stop first, then say so: no request starts after the message.
            self._writer.abort()
            self.logger.warning(
                "Received signal %d in the middle of a batch: stopping without STATE; "
                "the batch is replayed on the next run",
                signum,
            )
            _exit_if_still_running_after(STOP_GRACE_SECONDS, self.logger)
            raise SystemExit(1)
        super().handle_stop_signal(signum, frame)

    def summary(self, *, final: bool = True) -> str:
        backlog = self._writer.backlog() if self._writer is not None else (0, 0.0)
        return self.stats.summary(self._client, final=final, dry_run=self.dry_run, backlog=backlog)

    @override
    def process_endofpipe(self) -> None:
        try:
            super().process_endofpipe()
            if self.erasure.streams:
                self._apply_erasure()
            if self.mirror_streams:
                self._apply_mirror()
        finally:
            if self._periodic is not None:
                self._periodic.stop()
            if self._rejects is not None:
                self._rejects.close()
        self.logger.info("%s", self.summary())
        if self._too_many_rejected:
            raise too_many_rejected(self.stats, float(self.config[MAX_REJECTED_FRACTION]))

    def _apply_erasure(self) -> None:
        """Delete the requested profiles (erasure.py), then emit the STATE held back.

        Before the mirror plan: a mirror guard must not hold up an erasure, and
        the plan's scan then no longer sees the erased profiles.
        """
        writer = self.writer
        writer.flushing = True  # a signal now must not emit STATE
        try:
            self.erasure.apply(writer)
        finally:
            writer.flushing = False
        if self.latest_state:
            self.write_state(copy.deepcopy(self.latest_state))

    def _apply_mirror(self) -> None:
        """Plan, guard and apply the mirror streams, then emit the STATE held back."""
        if self._memberships:
            writer = self.writer
            run = MirrorRun(
                self._memberships,
                writer=writer,
                guards=Guards(
                    allow_empty_audience=bool(self.config["mirror_allow_empty_audience"]),
                    max_removals=int(self.config["mirror_max_removals"]),
                    max_removal_fraction=float(self.config["mirror_max_removal_fraction"]),
                ),
                trigger=Trigger(self.config["trigger_events"]),
                plan_path=self.config.get("mirror_plan_path"),
                user_id_field=self.config["user_id_field"],
                logger=self.logger,
            )
            writer.flushing = True  # a signal now must not emit STATE
            try:
                run.run()
            finally:
                writer.flushing = False
        self._mirror_applied = True
        if self.latest_state:
            self.write_state(copy.deepcopy(self.latest_state))

    @classmethod
    @override
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        super().append_builtin_config(config_jsonschema)
        # Writes are merges, never append/upsert/overwrite: the setting would mislead.
        config_jsonschema["properties"].pop("load_method", None)

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """The CLI, reporting expected failures as one line and a non-zero exit.

        It adds ``--test``, the read-only preflight (preflight.py).
        """
        command = super().get_singer_command()
        command.params.append(test_option(cls))
        return install_clean_errors(command, cls.logger, explain_failure)
