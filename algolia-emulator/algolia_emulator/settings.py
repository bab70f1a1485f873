"""Run-time knobs that tests flip without restarting the emulator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

REQUIRED_ACLS = frozenset({"search", "browse", "recommendation"})
DEFAULT_APP_ID = "EMULATORAPP"
DEFAULT_API_KEY = "emulator-api-key"
SEARCH_ONLY_KEY = "emulator-search-only-key"
BOUNDS = ("inclusive", "exclusive")


def default_api_keys() -> dict[str, frozenset[str]]:
    return {DEFAULT_API_KEY: REQUIRED_ACLS, SEARCH_ONLY_KEY: frozenset({"search"})}


def normalise_keys(keys: Mapping[str, Iterable[str]] | None) -> dict[str, frozenset[str]]:
    if keys is None:
        return default_api_keys()
    return {key: frozenset(acls) for key, acls in keys.items()}


@dataclass
class Settings:
    app_id: str = DEFAULT_APP_ID
    api_keys: dict[str, frozenset[str]] = field(default_factory=default_api_keys)
    bounds: str = "inclusive"
    latency_ms: float = 0.0
    clock_offset: float = 0.0  # seconds added to every timestamp the server stamps
    # Off: an application without the segments beta (no segments field, no write endpoint).
    segments_beta: bool = True

    def __post_init__(self) -> None:
        self.set_bounds(self.bounds)

    def set_bounds(self, bounds: str) -> None:
        if bounds not in BOUNDS:
            raise ValueError(f"bounds must be one of {BOUNDS}")
        self.bounds = bounds

    @property
    def inclusive(self) -> bool:
        return self.bounds == "inclusive"

    def full_access_key(self) -> str:
        """A key that may call every endpoint, for clients built from the server object."""
        for key, acls in self.api_keys.items():
            if acls >= REQUIRED_ACLS:
                return key
        raise LookupError("no configured API key has the search, browse and recommendation ACLs")
