"""Turn a failure a user can fix into one clear log line instead of a traceback.

The one module of algolia_api that touches singer-sdk's CLI internals. It
wraps the click command that ``PluginBase.get_singer_command()`` returns and
relies on this undocumented behaviour of the pinned singer-sdk (0.54.x) and
click, each pinned by a test in algolia-api/tests/test_sdk_cli_errors.py:

- The command is singer-sdk's ``SingerCommand``, whose method
  ``excepthook(exc_type, exc_value, exc_traceback)`` logs the failure with
  its full traceback. We keep it as the fallback, for genuine bugs.
- ``SingerCommand.invoke`` installs ``sys.excepthook = self.excepthook``,
  read from the command *instance* when it is invoked: so an instance
  attribute ``excepthook`` set here replaces the SDK's for the whole run.
- Some options run as click callbacks while the arguments are parsed,
  inside ``Command.main`` but before ``invoke`` (the tap's ``--discover`` and
  ``--test``, every plugin's ``--config``), when ``sys.excepthook`` is still
  Python's default; and calling the command (the console script calls
  ``TapAlgolia.cli()``) runs ``self.main``, looked up on the instance. So we
  replace the instance's ``main`` with one that installs the hook first.

- The command's ``callback`` (a public click attribute) runs inside
  ``SingerCommand.invoke``, whose ``except ConfigValidationError`` logs every
  error and then a second line: we wrap the callback to report it first.

Why: a user who mistyped a key or a region gets one line naming the cause
and exit code 1, wherever the failure happens; a bug keeps its traceback.
Every line is made one line and has the key masked (algolia_api.redaction),
and the masking filter goes on the log handlers singer-sdk has set up.
The plugins' ``get_singer_command`` overrides call :func:`install_clean_errors`
with their own explainer for the failures only they raise, so this module is
the only place that replaces ``excepthook`` or ``main``.
"""

from __future__ import annotations

import re
import sys
import typing as t

import requests
from singer_sdk.exceptions import ConfigValidationError

from algolia_api.errors import AlgoliaAPIError, request_line
from algolia_api.pages import MalformedResponseError, PageCycleError
from algolia_api.redaction import install_log_redaction, one_line, redact
from algolia_api.user_ids import InvalidUserIDError

if t.TYPE_CHECKING:
    import logging
    from types import TracebackType

    import click

#: A plugin's own explainer: the one line for a failure it raises, or None.
Explainer = t.Callable[[BaseException], "str | None"]

#: Longest quoted part of one config error.
CONFIG_ERROR_LENGTH = 300
_LONG_WORD = re.compile(r"\S{41,}")


def _shorten(match: re.Match[str]) -> str:
    word = match.group(0)
    return f"{word[:20]}…{word[-12:]}"


_EXPECTED = (
    AlgoliaAPIError,
    InvalidUserIDError,
    requests.exceptions.RequestException,
    ConfigValidationError,
    PageCycleError,
)

#: How singer-sdk's paginator words a token repeated at once (a RuntimeError).
#: The tap's own check (algolia_api.PageTokens) normally fires first.
SDK_PAGINATION_LOOP = "Loop detected in pagination"


def explain(error: BaseException) -> str:
    """The one line we show for an expected failure."""
    if isinstance(error, ConfigValidationError):
        # A schema message quotes the value first: a huge number or text is cut
        # in its middle, so the setting's name at the end stays.
        errors = [
            one_line(_LONG_WORD.sub(_shorten, message), CONFIG_ERROR_LENGTH)
            for message in error.errors
        ]
        return f"Invalid configuration: {'; '.join(errors) or error}"
    if isinstance(error, requests.exceptions.InvalidHeader):
        # requests quotes the header value: it may be the key.
        return (
            "A setting sent as an HTTP header (app_id or api_key) holds a line break "
            "or control character: copy it again from the Algolia dashboard"
        )
    where = ""
    if isinstance(error, requests.exceptions.RequestException):
        line = request_line(error.request)
        where = f" ({line})" if line else ""
    if isinstance(error, requests.exceptions.Timeout):
        return (
            f"Algolia did not answer in time after all retries{where}: check connectivity, "
            "the region/api_url, or raise request_timeout"
        )
    if isinstance(error, requests.exceptions.ConnectionError):
        return (
            f"Could not reach Algolia after all retries{where} (connection refused or "
            "dropped): check connectivity and the region/api_url"
        )
    if isinstance(error, requests.exceptions.ChunkedEncodingError) or (
        isinstance(error, requests.exceptions.ContentDecodingError)
        and not isinstance(error, MalformedResponseError)
    ):
        return (
            f"Algolia's answer was cut short or could not be decoded after all retries{where}: "
            "check connectivity and any proxy between this host and Algolia"
        )
    return str(error)


def _sdk_pagination_loop(error: BaseException) -> str | None:
    if isinstance(error, RuntimeError) and str(error).startswith(SDK_PAGINATION_LOOP):
        return (
            "Algolia's GET /2/users sent the same page token twice in a row (singer-sdk: "
            f"{' '.join(str(error).split())[:200]}): the run stops here and confirms nothing "
            "past it; rerun later, and report it to Algolia support if it persists"
        )
    return None


def install_clean_errors(
    command: click.Command,
    logger: logging.Logger,
    explain_own: Explainer | None = None,
) -> click.Command:
    """Make the plugin's CLI report expected failures as one line and exit 1.

    singer-sdk's command installs its own ``excepthook`` (read from the command
    instance) that logs a full traceback; we replace it for the failures a
    user can act on and keep the traceback for genuine bugs. ``explain_own``
    gives the line for a failure only the plugin raises (None: not one of its
    own), and is asked first.
    """
    original = getattr(command, "excepthook", sys.__excepthook__)

    def excepthook(
        exc_type: type[BaseException],
        exc_value: BaseException,
        exc_traceback: TracebackType | None,
    ) -> None:
        line = explain_own(exc_value) if explain_own is not None else None
        if line is None and isinstance(exc_value, _EXPECTED):
            line = explain(exc_value)
        if line is None:
            line = _sdk_pagination_loop(exc_value)
        if line is not None:
            logger.error("%s", redact(one_line(line)))
            return
        original(exc_type, exc_value, exc_traceback)

    command.excepthook = excepthook  # type: ignore[attr-defined]
    install_log_redaction()

    # A config error raised once the command runs is caught by singer-sdk's
    # SingerCommand.invoke, which logs each error and then "Config validation
    # failed": two lines or more. Caught first here, it is one.
    original_callback = command.callback
    if original_callback is not None:

        def callback(*args: t.Any, **kwargs: t.Any) -> t.Any:
            try:
                return original_callback(*args, **kwargs)
            except ConfigValidationError as exc:
                logger.error("%s", redact(one_line(explain(exc))))
                raise SystemExit(1) from None

        command.callback = callback

    # singer-sdk installs the hook when the command is invoked, but options
    # such as a tap's --test and --discover run as click callbacks before
    # that: install it as soon as the command starts.
    original_main = command.main

    def main(*args: t.Any, **kwargs: t.Any) -> t.Any:
        sys.excepthook = lambda *exc: command.excepthook(*exc)  # type: ignore[attr-defined]
        return original_main(*args, **kwargs)

    command.main = main  # type: ignore[method-assign]
    return command
