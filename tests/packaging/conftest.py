"""Fixtures for the packaging tests: the distributions built as for a release, and
clean virtual environments outside this repository."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = (
    "algolia-api",
    "algolia-emulator",
    "tap-algolia",
    "target-algolia",
    "algolia-dagster",
)


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel of every distribution; each wheel is built from its sdist."""
    out = tmp_path_factory.mktemp("dist")
    for directory in DISTRIBUTIONS:
        built = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), directory],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert built.returncode == 0, f"build {directory}:\n{built.stdout}\n{built.stderr}"
    return out


class CleanVenv:
    """A new virtual environment with nothing but pip."""

    def __init__(self, path: Path) -> None:
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        self.bin = path / "bin"

    def run(self, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        exe, *rest = args
        out = subprocess.run(
            [str(self.bin / exe), *rest], capture_output=True, text=True, timeout=timeout
        )
        assert out.returncode == 0, f"{' '.join(args)}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        return out

    def pip_install(self, *requirements: str) -> None:
        self.run("python", "-m", "pip", "install", "--disable-pip-version-check", *requirements)


@pytest.fixture
def clean_venv(tmp_path: Path) -> CleanVenv:
    return CleanVenv(tmp_path / "venv")
