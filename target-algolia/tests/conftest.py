"""target-algolia test fixtures."""

from __future__ import annotations

import typing as t

import pytest

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


@pytest.fixture
def emu(emulator_factory: t.Callable[..., EmulatorServer]) -> EmulatorServer:
    """An emulator with no seeded users: each test writes the profiles it needs."""
    return emulator_factory(users=0, rate_limit=100_000, rate_window=60)
