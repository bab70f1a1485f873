"""tap-algolia: Algolia Advanced Personalization user profiles as a Singer stream."""

from __future__ import annotations

import gc
import io
import json
import signal
import sys
import typing as t
from functools import cached_property

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities
from typing_extensions import override

from algolia_api import (
    CONNECTION_PROPERTIES,
    MAX_REQUESTS_PER_MINUTE,
    AlgoliaClient,
    ConnectionSettings,
    RateLimitPacer,
    TypedSettings,
    build_session,
    install_clean_errors,
    plugin_config_schema,
    secret_setting_errors,
    user_agent,
)
from tap_algolia.catalog import with_classic_replication_method
from tap_algolia.message_writer import BufferedMsgSpecWriter
from tap_algolia.sdk_internals import TerminationOverride
from tap_algolia.state import StateFileError, check_state, parse_state_text
from tap_algolia.streams import UsersStream
from tap_algolia.window import MAX_OVERLAP_SECONDS, check_not_before_epoch, parse_start_date

if t.TYPE_CHECKING:
    import click
    import requests
    from singer_sdk.helpers.capabilities import CapabilitiesEnum
    from singer_sdk.streams import Stream

TAP_PROPERTIES = th.PropertiesList(
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description=(
            "First sync only (no bookmark yet): read only profiles updated on or after "
            "this instant (RFC 3339, or a date for midnight UTC). Leave empty to import "
            "every profile. Later syncs continue from the bookmark and ignore it. "
            "Not before 1970-01-01."
        ),
    ),
    th.Property(
        "page_size",
        th.IntegerType(minimum=1, maximum=1000),
        default=1000,
        title="Page size",
        description="Profiles per GET /2/users request (`limit`), 1 to 1000.",
    ),
    th.Property(
        "indices",
        th.ArrayType(th.StringType),
        title="Indices",
        description=(
            "Only profiles with affinities in all of these indices (the API's `indices` "
            "filter, sent comma-separated)."
        ),
    ),
    th.Property(
        "affinity",
        th.ArrayType(th.StringType),
        title="Affinity filter",
        description=(
            "Only profiles matching all of these affinities, each a name (`brand`) or a "
            "name:value pair (`brand:Nike`) (the API's `affinity` filter, sent "
            "comma-separated)."
        ),
    ),
    th.Property(
        "max_requests_per_minute",
        th.IntegerType(minimum=1, maximum=MAX_REQUESTS_PER_MINUTE),
        title="Request budget per minute",
        description=(
            "Most API calls this run may make per minute, spaced evenly (target-algolia "
            "has the same setting). Leave empty to use whatever the application's "
            "window allows; set it when other clients share the application's 500 calls "
            "per minute, so that the budgets add up to less than 500. At most 100000000."
        ),
    ),
    th.Property(
        "overlap_seconds",
        th.IntegerType(minimum=1, maximum=MAX_OVERLAP_SECONDS),
        default=300,
        title="Overlap (seconds)",
        description=(
            "Each incremental sync starts this many seconds before the bookmark, so that "
            "updates at a window bound, during the previous sync, or hidden by clock "
            "skew are not missed. Profiles in the overlap are delivered again. "
            "1 to 2592000 (30 days)."
        ),
    ),
    th.Property(
        "activate_version",
        th.BooleanType,
        default=True,
        title="Send ACTIVATE_VERSION",
        description=(
            "FULL_TABLE syncs only (replication-method FULL_TABLE in the catalog): every "
            "record carries the sync's version, and once every profile has been read one "
            "ACTIVATE_VERSION follows the last record, so that a target such as "
            "target-postgres marks the rows of profiles deleted in Algolia. A failed or "
            "incremental sync never sends it. false: no version and no ACTIVATE_VERSION."
        ),
    ),
)


def explain_failure(error: BaseException) -> str | None:
    """The one line for a failure the tap raises itself; None for any other."""
    return str(error) if isinstance(error, StateFileError) else None


class TapAlgolia(TypedSettings, TerminationOverride, Tap):
    """Singer tap for Algolia Advanced Personalization user profiles."""

    name = "tap-algolia"
    message_writer_class = BufferedMsgSpecWriter
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        TapCapabilities.ACTIVATE_VERSION,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]
    config_jsonschema = plugin_config_schema(CONNECTION_PROPERTIES, TAP_PROPERTIES)

    def __init__(self, *, validate_config: bool = True, **kwargs: t.Any) -> None:
        if kwargs.get("catalog") is not None:
            kwargs["catalog"] = with_classic_replication_method(kwargs["catalog"])
        try:
            super().__init__(validate_config=validate_config, **kwargs)
        except ConfigValidationError as exc:
            raise secret_setting_errors(exc, self.config_jsonschema) from None
        if validate_config:
            # Fail fast, with clear messages, on what JSON Schema cannot check.
            _ = self.connection
            start_date = self.config.get("start_date")
            if start_date:
                try:
                    check_not_before_epoch(parse_start_date(str(start_date)), str(start_date))
                except ValueError as exc:
                    raise ConfigValidationError(
                        "Invalid start_date",
                        errors=[f"start_date must be an RFC 3339 date-time or a date: {exc}"],
                    ) from None

    @cached_property
    def connection(self) -> ConnectionSettings:
        """Validated connection settings (raises ConfigValidationError)."""
        return ConnectionSettings.from_config(self.config)

    @cached_property
    def user_agent(self) -> str:
        return user_agent(self.name, self.get_plugin_version())

    @cached_property
    def session(self) -> requests.Session:
        """One paced, authenticated HTTP session for the whole run."""
        pacer = RateLimitPacer(
            max_requests_per_minute=self.config.get("max_requests_per_minute"),
            logger=self.logger,
        )
        return build_session(self.connection, agent=self.user_agent, pacer=pacer)

    def check_credentials(self) -> None:
        """Prove the app ID, key, ACLs and region with one cheap call; raise if wrong."""
        client = AlgoliaClient(self.connection, agent=self.user_agent, logger=self.logger)
        try:
            client.check_credentials()
        finally:
            client.close()

    @override
    def discover_streams(self) -> list[Stream]:
        return [UsersStream(self)]

    @override
    def exit_on_signal(self, signum: int) -> None:
        """A SIGTERM or Ctrl-C mid-sync is a failed run: exit 128 + signal, not 0.

        singer-sdk's handler emits the current STATE and exits 0, so a
        scheduler would count an interrupted sync as a success. The STATE it
        emits still holds the previous bookmark (the stream moves it only
        once its window is fully read), so the next run reads the window
        again. (Called from singer-sdk's signal handler: see
        tap_algolia.sdk_internals.TerminationOverride.)
        """
        name = signal.Signals(signum).name
        self.logger.error(
            "Interrupted by %s before the sync finished: the bookmark stays where it was "
            "and the next run reads this window again",
            name,
        )
        try:
            self.state_writer.write_state(self.state)
        finally:
            sys.exit(128 + signum)

    @override
    def load_state(self, state: dict[str, t.Any]) -> None:
        """Refuse, in one line and before any API call, a state the sync cannot use."""
        check_state(state)
        super().load_state(state)

    @override
    @classmethod
    def invoke(  # type: ignore[override]  # as singer-sdk's Tap.invoke
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        state: t.IO[str] | None = None,
        catalog: t.IO[str] | None = None,
    ) -> None:
        """singer-sdk's CLI entry, with the state file checked first (tap_algolia.state).

        Everything alive by now (singer-sdk, requests, msgspec and their
        modules) lives as long as the process, so it is frozen: the collector's
        full passes, which the decoded pages set off every ten pages or so, then
        no longer walk it each time. Measured on a 50,000-profile sync: time in
        the collector 0.156 s -> 0.077 s; on 200,000 profiles the tap's CPU time
        about 10% lower (docs/profiling.md).
        """
        gc.freeze()
        if state is not None:
            state = io.StringIO(json.dumps(parse_state_text(state.read())))
        super().invoke(
            about=about, about_format=about_format, config=config, state=state, catalog=catalog
        )

    @override
    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, reporting expected failures as one line and exit code 1."""
        return install_clean_errors(super().get_singer_command(), cls.logger, explain_failure)


if __name__ == "__main__":
    TapAlgolia.cli()
