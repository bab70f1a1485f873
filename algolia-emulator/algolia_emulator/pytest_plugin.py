"""Pytest fixtures: a fresh in-process emulator per test, or several via a factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .server import EmulatorServer


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A running emulator with 50 seeded profiles on a free loopback port."""
    with EmulatorServer(users=50, seed=42) as server:
        yield server


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., EmulatorServer]]:
    """Call with ``EmulatorServer`` keyword arguments; every server stops at teardown."""
    started: list[EmulatorServer] = []

    def make(**kwargs: Any) -> EmulatorServer:
        kwargs.setdefault("users", 50)
        server = EmulatorServer(**kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
