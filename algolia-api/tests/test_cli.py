"""install_clean_errors: expected failures end as one line and exit 1, wherever they happen."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import logging, sys
    import click
    from singer_sdk.exceptions import ConfigValidationError
    from algolia_api import AuthenticationError
    from algolia_api.cli import install_clean_errors

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    logger = logging.getLogger("plugin")
    failures = {
        "auth": lambda: AuthenticationError(401, "Unauthorized", method="GET", path="/2/users"),
        "config": lambda: ConfigValidationError("bad", errors=["region must be us or eu"]),
        "bug": lambda: RuntimeError("a genuine bug"),
    }

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
    install_clean_errors(command, logger)()
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


def test_a_bug_keeps_its_traceback() -> None:
    result = run("--early", "bug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "a genuine bug" in result.stderr
