"""target-algolia: audience memberships -> segments on Algolia user profiles.

This module holds the singer-sdk hooks and the order of work, nothing else:
which sink a stream gets, what happens at the end of the input (the last
batch, then the erasure, then the mirror plan, then the summary and the
reject bound), what a stop signal does (as the STATE gate decides), and the
CLI. The run's objects live in ``run``, the settings in ``settings``, the
STATE rule in ``state_gate``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import typing as t

from singer_sdk.exceptions import ConfigValidationError, RecordsWithoutSchemaException
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.singerlib.exceptions import InvalidInputLine
from typing_extensions import override

from algolia_api import TypedSettings, install_clean_errors, secret_setting_errors, user_agent
from target_algolia.audience.sink import AlgoliaSegmentsSink
from target_algolia.erasure.requests import ErasureGuardError
from target_algolia.erasure.sink import ErasureSink
from target_algolia.input.batch_files import BatchFileError, batch_records
from target_algolia.input.max_wait import WaitBound
from target_algolia.input.reader import AudienceMessageReader
from target_algolia.input.stop_request import StopRequest
from target_algolia.mirror.plan import MirrorGuardError
from target_algolia.mirror.sink import MirrorSink
from target_algolia.outcomes import TooManyRejectedError, over_bound, too_many_rejected
from target_algolia.preflight import test_option
from target_algolia.run import Run
from target_algolia.sdk_internals import SDKInternalsTarget
from target_algolia.settings import CONFIG_JSONSCHEMA, TargetSettings
from target_algolia.state_gate import SignalAction, StateGate, UnfinishedWorkError
from target_algolia.summary import RejectsPathError

if t.TYPE_CHECKING:
    from types import FrameType

    import click
    from singer_sdk.sinks import Sink

# After a stop signal, the longest the target waits for its workers to notice
# (a worker in a retry sleep or waiting on a slow answer) before it exits anyway.
STOP_GRACE_SECONDS = 5.0


def _exit_if_still_running_after(seconds: float, code: int) -> None:
    """Exit the process with ``code`` if it is still alive ``seconds`` from now.

    After a stop the pacer refuses every new request, so nothing is lost by not
    waiting for a worker that sleeps before a retry or waits on a slow answer.
    Armed from inside the signal handler, so it takes no lock: an interval
    timer whose SIGALRM handler writes one line to stderr and exits (a timer
    thread's start could wait on a lock the interrupted code holds).
    """
    line = (
        f"target-algolia: still stopping after {seconds:.0f} s "
        "(a retry wait or a slow answer): exiting\n"
    ).encode()

    def exit_now(_signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):
            os.write(2, line)
        os._exit(code)

    signal.signal(signal.SIGALRM, exit_now)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def explain_failure(error: BaseException) -> str | None:
    """The one line for a failure the target raises itself; None for any other."""
    if isinstance(error, RecordsWithoutSchemaException):
        return f"Stopped: {str(error)[:500]} No STATE is emitted past it."
    if isinstance(error, BatchFileError):
        return f"Stopped: {error}. No STATE is emitted past it."
    if isinstance(error, InvalidInputLine):
        return f"Stopped at a corrupt input line; no STATE is emitted past it. {str(error)[:500]}"
    if isinstance(
        error,
        (
            RejectsPathError,
            MirrorGuardError,
            TooManyRejectedError,
            ErasureGuardError,
            UnfinishedWorkError,
        ),
    ):
        return str(error)
    return None


class TargetAlgolia(TypedSettings, SDKInternalsTarget):
    """Merge audience memberships into Algolia user profile segments."""

    name = "target-algolia"
    config_jsonschema = CONFIG_JSONSCHEMA
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
        # Read once; bad mirror or erasure entries are refused here, at start-up.
        self.settings = TargetSettings.from_config(self.config)
        # The one writer of STATE: every STATE path offers it there.
        gate = StateGate(latest=lambda: self.latest_state, emit=super().write_state)
        gate.on_deferred_signal = lambda signum: self.handle_stop_signal(signum, None)
        self.wait_bound = WaitBound(
            max_wait=self.settings.max_wait_seconds,
            pending_since=lambda: (
                self.run.writer_started.pending_since if self.run.writer_started else None
            ),
            state_unemitted=gate.state_waiting,
            write=self.drain_all,
        )
        self.run = Run(
            self.settings,
            gate=gate,
            logger=self.logger,
            agent=user_agent(self.name, self.get_plugin_version()),
            arrival_clock=self.wait_bound.arrival,
        )
        # A first signal's drain waits for the main thread's next safe point.
        self.stop_request = StopRequest(self._drain_and_stop)
        if isinstance(self.message_reader, AudienceMessageReader):
            self.message_reader.wait_bound = self.wait_bound
            self.message_reader.stop_request = self.stop_request

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        if stream_name in self.settings.erasure_streams:
            return ErasureSink
        if stream_name in self.settings.mirror_streams:
            return MirrorSink
        return super().get_sink_class(stream_name)

    @override
    def write_state(self, state: dict) -> None:
        """singer-sdk's STATE path (drain_all): offered to the gate like every other."""
        self.run.gate.offer(state)

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
        """SIGTERM/SIGINT: the STATE of fully written work, or no STATE; never exit 0.

        The gate decides (state_gate): the first signal between batches asks
        for what is pending to be written, as singer-sdk's own handler would,
        and for its STATE to leave unless work is held (a mirror plan, an
        erasure, the reject bound); the main thread does that at its next safe
        point (input.stop_request), never this handler. A signal while work is
        being written, or any later one, stops the workers at once with no
        STATE. Either way the run was stopped before its input ended, so it
        exits 128 + the signal number, as the tap does (singer-sdk's handler,
        never called here, exits 0).
        """
        action = self.run.gate.on_signal(signum)
        if action is SignalAction.DEFER:
            return  # a STATE line is being written; the gate calls back once it is whole
        if action is SignalAction.DRAIN:
            self.stop_request.request(signum)
            return
        if action is SignalAction.ALREADY_STOPPING:
            self._say_from_handler(
                logging.INFO, "Received signal %d: already stopping without STATE", signum
            )
            return
        # STOP: the watchdog first (nothing below can then hold the exit up),
        # then stop, then say so: no request starts after the message.
        _exit_if_still_running_after(STOP_GRACE_SECONDS, 128 + signum)
        if self.run.writer_started is not None:
            self.run.writer_started.abort()
        self._say_from_handler(
            logging.WARNING,
            "Received signal %d while work was unfinished: stopping without STATE; "
            "the next run reads this input again",
            signum,
        )
        raise SystemExit(128 + signum)

    def _say_from_handler(self, level: int, message: str, *args: t.Any) -> None:
        """Log from the signal handler; a line the interrupted code was writing wins.

        Python refuses a write to a buffered stream that the interrupted code
        is writing to (RuntimeError, "reentrant call"); the stop goes on without its line.
        """
        with contextlib.suppress(RuntimeError):
            self.logger.log(level, message, *args)

    def _drain_and_stop(self, signum: int) -> None:
        """A first signal's drain, at a safe point: write what is pending, then exit."""
        self.logger.info("Received signal %d: writing the pending records, then stopping", signum)
        self.drain_all(is_endofpipe=True)
        left = self.run.gate.work_remains()
        if left is not None:
            self.logger.warning(
                "Stopped by signal %d before the run's work was done (%s): no STATE for "
                "it; the next run reads this input again",
                signum,
                left,
            )
        else:
            self.logger.warning(
                "Stopped by signal %d before the end of the input: what was read is "
                "written and its STATE emitted; the next run goes on from there",
                signum,
            )
        raise SystemExit(128 + signum)

    @override
    def process_endofpipe(self) -> None:
        """The order of work at the end of input.

        The last batch (singer-sdk's drain), then the erasure (before the
        mirror plan: a mirror guard must not hold up an erasure, and the
        plan's scan then no longer sees the erased profiles), then the mirror
        plan; each releases its hold on STATE once applied.
        """
        run = self.run
        stop = self.stop_request
        try:
            super().process_endofpipe()
            # A stop asked for meanwhile is done between the steps (input.stop_request).
            stop.act_if_requested()
            if self.settings.erasure_streams:
                run.apply_erasure()
                stop.act_if_requested()
            if self.settings.mirror_streams:
                run.apply_mirror()
                stop.act_if_requested()
        finally:
            run.close()
        self.logger.info("%s", run.summary())
        run.gate.raise_if_stopped()
        bound = self.settings.max_rejected_fraction
        if over_bound(run.stats, bound):
            raise too_many_rejected(run.stats, bound)
        left = run.gate.work_remains()
        if left is not None:  # never expected: each piece of work above settles or raises
            raise UnfinishedWorkError(
                f"Run failed: the input ended but {left}; no STATE was emitted for it, so "
                "the next run reads this input again."
            )

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
