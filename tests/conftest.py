"""Fixtures for the cross-cutting tests: this checkout as a git repository URL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from algolia_testkit.run_once import once_per_run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_git_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A ``git+file://`` URL of this working copy, as pip and Meltano take a git URL.

    The files git would commit (tracked and new, not ignored) are committed into a
    scratch repository, so the URL serves exactly what is being tested, including
    uncommitted changes. A user writes ``git+https://<host>/<repo>.git`` instead.
    Made once per run, shared by every xdist worker (pip and Meltano only clone it).
    """

    def snapshot_into(snapshot: Path) -> None:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        for relative in filter(None, listed.split("\0")):
            source, target = ROOT / relative, snapshot / relative
            if not source.exists() and not source.is_symlink():
                continue  # deleted in the working copy
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                os.symlink(os.readlink(source), target)
            else:
                shutil.copy2(source, target)
        git = ["git", "-c", "user.name=tests", "-c", "user.email=tests@localhost"]
        git += ["-C", str(snapshot)]
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
            subprocess.run([*git, *args], check=True, capture_output=True)

    return f"git+file://{once_per_run(tmp_path_factory, 'repo-snapshot', snapshot_into)}"


def run_bench(module: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``python -m <module> <args>`` from the repository root; a failed run fails the test."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc
