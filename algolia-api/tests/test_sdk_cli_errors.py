"""install_clean_errors: expected failures end as one line and exit 1, wherever they happen."""

from __future__ import annotations

import inspect
import logging
import subprocess
import sys
import textwrap
import typing as t

import click
import pytest
from singer_sdk import Stream, Tap, Target
from singer_sdk.plugin_base import PluginBase

if t.TYPE_CHECKING:
    from collections.abc import Iterator

SCRIPT = textwrap.dedent(
    """
    import logging, sys
    import click
    from singer_sdk.exceptions import ConfigValidationError
    from algolia_api import AuthenticationError
    from algolia_api.sdk_cli_errors import install_clean_errors

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    logger = logging.getLogger("plugin")

    def sdk_loop():  # singer-sdk's own error for a token repeated at once
        from singer_sdk.pagination import BaseAPIPaginator

        class Same(BaseAPIPaginator):
            def get_next(self, response):
                return "T"

        paginator = Same(None)
        try:
            paginator.advance(None)
            paginator.advance(None)
        except RuntimeError as error:
            return error
        raise AssertionError("singer-sdk no longer detects a repeated token")

    def cycle():
        from algolia_api import PageTokens

        tokens = PageTokens()
        tokens.follow("A")
        try:
            tokens.follow("A")
        except RuntimeError as error:
            return error

    failures = {
        "sdk-loop": sdk_loop,
        "cycle": cycle,
        "auth": lambda: AuthenticationError(401, "Unauthorized", method="GET", path="/2/users"),
        "config": lambda: ConfigValidationError("bad", errors=["region must be us or eu"]),
        "bug": lambda: RuntimeError("a genuine bug"),
        "own": lambda: LookupError("the plugin's own failure"),
    }

    def explain_own(error):  # a plugin's explainer: only for failures it raises
        return f"Stopped: {error.args[0]}" if isinstance(error, LookupError) else None

    def fail(ctx, param, value):
        if value:
            raise failures[value]()

    class Command(click.Command):
        def excepthook(self, *exc):  # what singer-sdk's SingerCommand provides
            logger.error("sdk hook", exc_info=exc)

        def invoke(self, ctx):
            sys.excepthook = self.excepthook
            return super().invoke(ctx)

    command = Command(
        "plugin",
        callback=lambda **kw: fail(None, None, kw["late"]),
        params=[
            # Like a tap's --test: runs as a callback, before invoke().
            click.Option(["--early"], callback=fail, expose_value=False),
            click.Option(["--late"]),
        ],
    )
    install_clean_errors(command, logger, explain_own)()
    """
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("when", ["--early", "--late"])
def test_auth_failure_is_one_line_whenever_it_happens(when: str) -> None:
    result = run(when, "auth")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "ERROR 401 from Algolia on GET /2/users: Unauthorized (check the application ID, "
        "the API key's ACLs (search, browse, recommendation) and the region (us or eu) "
        "of your Algolia application)"
    ]


def test_config_error_in_a_callback_is_one_line() -> None:
    result = run("--early", "config")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "ERROR Invalid configuration: region must be us or eu"
    ]


@pytest.mark.parametrize("when", ["--early", "--late"])
def test_a_failure_the_plugin_explains_is_one_line_in_its_words(when: str) -> None:
    result = run(when, "own")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["ERROR Stopped: the plugin's own failure"]


@pytest.mark.parametrize("failure", ["sdk-loop", "cycle"])
def test_a_repeated_page_token_is_one_line(failure: str) -> None:
    result = run("--late", failure)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("ERROR Algolia's GET /2/users sent ")
    assert "the run stops here and confirms nothing past it" in line


def test_a_bug_keeps_its_traceback() -> None:
    result = run("--early", "bug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "a genuine bug" in result.stderr


# The singer-sdk and click behaviour install_clean_errors relies on (its module
# docstring). These use the SDK's own command, unwrapped: if an upgrade of the
# pinned singer-sdk or click changes one of them, the test says which.


class PinTap(Tap):
    name = "tap-pin"
    config_jsonschema: t.ClassVar[dict[str, t.Any]] = {"type": "object", "properties": {}}

    def discover_streams(self) -> list[Stream]:
        return []


class PinTarget(Target):
    name = "target-pin"
    config_jsonschema: t.ClassVar[dict[str, t.Any]] = {"type": "object", "properties": {}}


@pytest.fixture
def keep_process_hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SingerCommand.invoke sets sys.excepthook and captures warnings for the process."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    yield
    logging.captureWarnings(False)


@pytest.mark.parametrize("plugin", [PinTap, PinTarget])
def test_the_sdk_command_has_an_excepthook_method_taking_the_exception(
    plugin: type[PluginBase],
) -> None:
    command = plugin.get_singer_command()
    assert isinstance(command, click.Command)
    hook = getattr(type(command), "excepthook", None)
    assert callable(hook), "singer-sdk's command no longer has an excepthook method"
    assert list(inspect.signature(hook).parameters) == [
        "self",
        "exc_type",
        "exc_value",
        "exc_traceback",
    ]


@pytest.mark.parametrize("plugin", [PinTap, PinTarget])
@pytest.mark.usefixtures("keep_process_hooks")
def test_the_sdk_command_installs_the_excepthook_of_the_instance_when_invoked(
    plugin: type[PluginBase],
) -> None:
    command = plugin.get_singer_command()

    def ours(*exc: t.Any) -> None:
        raise AssertionError("not called here")

    seen: list[t.Any] = []
    command.excepthook = ours  # type: ignore[attr-defined]
    command.callback = lambda **_: seen.append(sys.excepthook)
    command.main(args=[], standalone_mode=False)
    assert seen == [ours]


@pytest.mark.parametrize("plugin", [PinTap, PinTarget])
def test_calling_the_sdk_command_runs_the_main_of_the_instance(
    plugin: type[PluginBase],
) -> None:
    command = plugin.get_singer_command()
    calls: list[tuple[t.Any, ...]] = []
    command.main = lambda *args, **kwargs: calls.append((*args, kwargs))  # type: ignore[method-assign]
    command(["--about"])
    assert calls == [(["--about"], {})]


def test_the_taps_discover_test_and_config_options_run_before_invoke() -> None:
    """Callbacks run while the arguments are parsed, before the SDK installs its hook."""
    command = PinTap.get_singer_command()
    options = {param.name: param for param in command.params}
    for name in ("discover", "test", "config"):
        assert options[name].callback is not None, name
