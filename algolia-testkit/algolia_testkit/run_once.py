"""Setup that costs seconds to minutes is made once per pytest run and shared by every
pytest-xdist worker, never once per worker or per test.

:func:`once_per_run` builds into a folder of the run's shared temporary root (the
parent of each worker's own basetemp): the first worker to ask builds under an
exclusive file lock while the others wait on it, then all of them read the
result. A folder is only used once its build finished (a ``.done`` mark beside
it, so the folder holds nothing but what was built), and a build that failed is
tried again by the next worker to ask, and fails there with its own error.
Whatever is shared this way must be read-only to the tests.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    import pytest


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder every worker of this run sees (its own basetemp without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: t.Callable[[Path], None]
) -> Path:
    """The folder ``name`` that ``build`` filled, built by the first worker to ask."""
    root = shared_root(tmp_path_factory)
    folder = root / f"once-{name}"
    done = root / f"once-{name}.done"
    with (root / f"once-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                build(folder)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder
