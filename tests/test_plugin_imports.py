"""The plugins use ``algolia_api`` only through what it exports (its ``__all__``).

Its submodules may move or split; what the package exports is the contract the
plugins build on (and what each plugin wheel's vendored copy must provide).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import algolia_api

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_PACKAGES = [ROOT / "tap-algolia" / "tap_algolia", ROOT / "target-algolia" / "target_algolia"]


def imports_past_the_surface(source: str, exported: set[str]) -> list[tuple[int, str]]:
    """(line, what) of each import of an algolia_api submodule or of an unexported name."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("algolia_api"):
            if node.module != "algolia_api":
                found.append((node.lineno, f"from {node.module} import ..."))
            found += [(node.lineno, a.name) for a in node.names if a.name not in exported]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name) for a in node.names if a.name.startswith("algolia_api.")
            ]
    return found


@pytest.mark.parametrize(
    "code",
    [
        "from algolia_api.profiles_client import log_retry",
        "from algolia_api import not_exported",
        "import algolia_api.retry",
    ],
)
def test_the_scan_finds_an_import_past_the_surface(code: str) -> None:
    assert imports_past_the_surface(code, {"log_retry"}) != []


def test_the_scan_passes_an_exported_name() -> None:
    assert imports_past_the_surface("from algolia_api import log_retry", {"log_retry"}) == []


def test_every_exported_name_exists() -> None:
    missing = [name for name in algolia_api.__all__ if not hasattr(algolia_api, name)]
    assert missing == []


def test_the_plugins_import_only_what_algolia_api_exports() -> None:
    exported = set(algolia_api.__all__)
    modules = sorted(path for package in PLUGIN_PACKAGES for path in package.rglob("*.py"))
    assert len(modules) > 10, modules
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in modules
        for line, what in imports_past_the_surface(path.read_text(encoding="utf-8"), exported)
    ]
    assert found == [], "import these from algolia_api (and export them there):\n" + "\n".join(
        found
    )
