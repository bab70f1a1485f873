"""Set the one release version in every place that states it.

Rule: every distribution of this repository (singer-algolia-api,
algolia-emulator, tap-algolia, target-algolia) carries the same version, and so do
the two constants that repeat it at run time. tests/packaging/test_distributions.py
fails if they differ. Usage (docs/release.md)::

    .venv/bin/python build-support/set_version.py 0.2.0
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = ("algolia-api", "algolia-emulator", "tap-algolia", "target-algolia")

# (file, pattern whose group "v" is the version)
PLACES: list[tuple[Path, re.Pattern[str]]] = [
    *(
        (ROOT / d / "pyproject.toml", re.compile(r'^version = "(?P<v>[^"]+)"$', re.M))
        for d in DISTRIBUTIONS
    ),
    (
        ROOT / "algolia-api/algolia_api/http.py",
        re.compile(r'^CONTRACT_VERSION = "(?P<v>[^"]+)"$', re.M),
    ),
    (
        ROOT / "algolia-emulator/algolia_emulator/__init__.py",
        re.compile(r'^__version__ = "(?P<v>[^"]+)"$', re.M),
    ),
]
VERSION = re.compile(r"^\d+\.\d+\.\d+((a|b|rc)\d+)?$")


def versions() -> dict[str, str]:
    """Each place's current version (relative path -> version)."""
    found: dict[str, str] = {}
    for path, pattern in PLACES:
        matches = list(pattern.finditer(path.read_text()))
        if len(matches) != 1:
            raise SystemExit(f"{path.relative_to(ROOT)}: expected one version line")
        found[path.relative_to(ROOT).as_posix()] = matches[0]["v"]
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not VERSION.match(argv[0]):
        print("usage: set_version.py X.Y.Z (PEP 440 release or pre-release)", file=sys.stderr)
        return 2
    new = argv[0]
    for path, pattern in PLACES:
        text = path.read_text()
        match = pattern.search(text)
        assert match is not None
        path.write_text(text[: match.start("v")] + new + text[match.end("v") :])
    print("\n".join(f"{place}: {v}" for place, v in versions().items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
