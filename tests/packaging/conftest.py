"""Fixtures for the packaging tests: the distributions built as for a release, and
clean virtual environments outside this repository."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import typing as t
import venv
from pathlib import Path
from types import ModuleType

import pytest

from algolia_testkit.run_once import once_per_run

ROOT = Path(__file__).resolve().parents[2]


def load_build_support(name: str) -> ModuleType:
    """A script of build-support/ as a module (that folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "build-support" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_support() -> t.Callable[[str], ModuleType]:
    return load_build_support


@pytest.fixture(scope="session")
def released() -> tuple[str, ...]:
    """The released distributions' folders: set_version.py's list, the one source."""
    return tuple(load_build_support("set_version").DISTRIBUTIONS)


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory, released: tuple[str, ...]) -> Path:
    """sdist and wheel of every released distribution; each wheel is built from its sdist.

    Built once per run, whichever xdist worker asks first; the tests only read them.
    """

    def build(out: Path) -> None:
        for directory in released:
            built = subprocess.run(
                [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), directory],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert built.returncode == 0, f"build {directory}:\n{built.stdout}\n{built.stderr}"

    return once_per_run(tmp_path_factory, "dist", build)


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
