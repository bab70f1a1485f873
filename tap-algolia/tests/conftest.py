"""tap-algolia test fixtures: run the tap in-process or as a CLI, collect its messages.

The helpers they are built on live in :mod:`algolia_testkit.tap_runs`.
"""

from __future__ import annotations

import typing as t

import pytest

from algolia_testkit.tap_runs import CliRun, CollectingWriter, Run, config_for, run_tap_cli
from tap_algolia.client import AlgoliaStream
from tap_algolia.tap import TapAlgolia

if t.TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry after milliseconds instead of half a second (production policy otherwise)."""
    monkeypatch.setattr(AlgoliaStream, "retry_base_delay", 0.01)


@pytest.fixture
def run_tap() -> t.Callable[..., Run]:
    """Run one sync in-process; returns every Singer message it emitted."""

    def run(
        config: dict[str, t.Any],
        state: dict[str, t.Any] | None = None,
        catalog: dict[str, t.Any] | None = None,
        *,
        raise_errors: bool = True,
    ) -> Run:
        writer = CollectingWriter()
        tap = TapAlgolia(config=config, state=state, catalog=catalog, message_writer=writer)
        result = Run(messages=writer.messages)
        try:
            tap.sync_all()
        except Exception as exc:
            if raise_errors:
                raise
            result.error = exc
        finally:
            tap.session.close()
        return result

    return run


@pytest.fixture
def run_cli(tmp_path: Path) -> t.Callable[..., CliRun]:
    """Run the ``tap-algolia`` executable with a config (and state/catalog) file."""

    def run(
        config: dict[str, t.Any],
        *args: str,
        state: dict[str, t.Any] | None = None,
        catalog: dict[str, t.Any] | None = None,
        timeout: float = 60,
    ) -> CliRun:
        done = run_tap_cli(config, tmp_path, *args, state=state, catalog=catalog, timeout=timeout)
        return CliRun(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def emulator_config() -> t.Callable[..., dict[str, t.Any]]:
    return config_for
