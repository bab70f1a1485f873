"""Reliability suite fixtures: emulators that accept the suite's secret key, and a
check after every test that no output the plugins produced contains it."""

from __future__ import annotations

import typing as t

import pytest

from algolia_testkit import reliability as kit

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from algolia_emulator import EmulatorServer


@pytest.fixture
def make_server(
    emulator_factory: t.Callable[..., EmulatorServer],
) -> t.Callable[..., EmulatorServer]:
    """An emulator whose only full-ACL key is ``kit.SECRET``."""

    def make(**kwargs: t.Any) -> EmulatorServer:
        kwargs.setdefault("api_keys", kit.API_KEYS)
        return emulator_factory(**kwargs)

    return make


@pytest.fixture(autouse=True)
def _no_secret_in_any_output(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> Iterator[None]:
    """Scan everything a test's plugins printed or wrote for the API key."""
    kit.CAPTURED.clear()
    yield
    out, err = capfd.readouterr()
    texts = [*kit.CAPTURED, out, err, caplog.text]
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.name.endswith("config.json"):
            texts.append(path.read_text(errors="replace"))
    for secret in (kit.SECRET, kit.SECRET_SEARCH_ONLY):
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"API key found in output: {leaks[0][:500]!r}"


@pytest.fixture
def emu(make_server: t.Callable[..., EmulatorServer]) -> EmulatorServer:
    """No seeded users (each test writes the profiles it needs), no rate limit in the way."""
    return make_server(users=0, rate_limit=100_000, rate_window=60)
