"""Set the one release version in every place that states it.

Rule: every released distribution of this repository (:data:`DISTRIBUTIONS`:
singer-algolia-api, algolia-emulator, tap-algolia, target-algolia, algolia-dagster)
carries the same version, and so do the two constants that repeat it at run time.
tests/packaging/test_distributions.py fails if the built distributions differ, and
builds exactly these (it reads the list from here). Usage (docs/release.md)::

    .venv/bin/python build-support/set_version.py 0.2.0
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = (
    "algolia-api",
    "algolia-emulator",
    "tap-algolia",
    "target-algolia",
    "algolia-dagster",
)
#: Folders with a pyproject.toml that are never released: the test suites'
#: shared helpers, installed by scripts/test.sh only. Their version stays 0.0.0.
UNRELEASED = ("algolia-testkit",)


def _line(name: str) -> re.Pattern[str]:
    return re.compile(rf'^{name} = "(?P<v>[^"]+)"$', re.M)


# (file relative to the repository, pattern whose group "v" is the version)
PLACES: list[tuple[str, re.Pattern[str]]] = [
    *((f"{d}/pyproject.toml", _line("version")) for d in DISTRIBUTIONS),
    ("algolia-api/algolia_api/http.py", _line("CONTRACT_VERSION")),
    ("algolia-emulator/algolia_emulator/__init__.py", _line("__version__")),
]
VERSION = re.compile(r"^\d+\.\d+\.\d+((a|b|rc)\d+)?$")


def set_version(new: str, root: Path = ROOT) -> dict[str, str]:
    """Write ``new`` into every place; returns each place's previous version."""
    if not VERSION.match(new):
        raise ValueError(f"{new!r} is not X.Y.Z or X.Y.Z(a|b|rc)N")
    texts: dict[str, tuple[str, re.Match[str]]] = {}
    for place, pattern in PLACES:  # check all before writing any
        text = (root / place).read_text()
        matches = list(pattern.finditer(text))
        if len(matches) != 1:
            raise ValueError(f"{place}: expected exactly one `{pattern.pattern}` line")
        texts[place] = (text, matches[0])
    for place, (text, match) in texts.items():
        (root / place).write_text(text[: match.start("v")] + new + text[match.end("v") :])
    return {place: match["v"] for place, (_, match) in texts.items()}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: set_version.py X.Y.Z", file=sys.stderr)
        return 2
    try:
        previous = set_version(argv[0])
    except ValueError as exc:
        print(f"set_version: {exc}", file=sys.stderr)
        return 2
    for place, old in previous.items():
        print(f"{place}: {old} -> {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
