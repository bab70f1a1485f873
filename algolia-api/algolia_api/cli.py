"""Turn a failure a user can fix into one clear log line instead of a traceback."""

from __future__ import annotations

import sys
import typing as t

import requests
from singer_sdk.exceptions import ConfigValidationError

from algolia_api.errors import AlgoliaAPIError
from algolia_api.user_ids import InvalidUserIDError

if t.TYPE_CHECKING:
    import logging
    from types import TracebackType

    import click

_EXPECTED = (
    AlgoliaAPIError,
    InvalidUserIDError,
    requests.exceptions.RequestException,
    ConfigValidationError,
)


def explain(error: BaseException) -> str:
    """The one line we show for an expected failure."""
    if isinstance(error, ConfigValidationError):
        return f"Invalid configuration: {'; '.join(error.errors) or error}"
    if isinstance(error, requests.exceptions.Timeout):
        return (
            "Algolia did not answer in time after all retries: check connectivity, "
            "the region/api_url, or raise request_timeout"
        )
    if isinstance(error, requests.exceptions.ConnectionError):
        return (
            "Could not reach Algolia after all retries (connection refused or dropped): "
            "check connectivity and the region/api_url"
        )
    return str(error)


def install_clean_errors(command: click.Command, logger: logging.Logger) -> click.Command:
    """Make the plugin's CLI report expected failures as one line and exit 1.

    singer-sdk's command installs its own ``excepthook`` (read from the command
    instance) that logs a full traceback; we replace it for the failures a
    user can act on and keep the traceback for genuine bugs.
    """
    original = getattr(command, "excepthook", sys.__excepthook__)

    def excepthook(
        exc_type: type[BaseException],
        exc_value: BaseException,
        exc_traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc_value, _EXPECTED):
            logger.error("%s", explain(exc_value))
            return
        original(exc_type, exc_value, exc_traceback)

    command.excepthook = excepthook  # type: ignore[attr-defined]

    # singer-sdk installs the hook when the command is invoked, but options
    # such as a tap's --test and --discover run as click callbacks before
    # that: install it as soon as the command starts. Looked up at call time,
    # so a plugin may still wrap ``command.excepthook`` afterwards.
    original_main = command.main

    def main(*args: t.Any, **kwargs: t.Any) -> t.Any:
        sys.excepthook = lambda *exc: command.excepthook(*exc)  # type: ignore[attr-defined]
        return original_main(*args, **kwargs)

    command.main = main  # type: ignore[method-assign]
    return command
