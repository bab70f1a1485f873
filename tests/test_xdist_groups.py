"""The test command's parallel run keeps the tests of one xdist_group on one worker.

scripts/test.sh runs pytest-xdist with ``--dist loadgroup``; tests that share a
costly module fixture (tests/test_bench_smoke.py) or must not run beside each
other rely on their ``xdist_group`` mark. Some pytest and pytest-xdist releases
together drop the marks without a word and spread a group over every worker
(pytest 9.2 with pytest-xdist 3.8). This runs a small suite the way
scripts/test.sh does and checks on which workers its tests ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SUITE = """
import os
from pathlib import Path

import pytest

OUT = Path(__file__).parent / "ran"


def record(kind, n):
    (OUT / f"{kind}-{n}").write_text(os.environ["PYTEST_XDIST_WORKER"])


@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    record("grouped", n)


@pytest.mark.parametrize("n", range(6))
def test_free(n):
    record("free", n)
"""


def test_a_groups_tests_run_on_one_worker_while_the_others_spread(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_suite.py").write_text(SUITE)
    (tmp_path / "ran").mkdir()
    done = subprocess.run(
        # Only xdist: the installed plugins (singer-sdk's imports the SDK) would
        # make each of the three processes start for seconds.
        [sys.executable, "-m", "pytest", "-p", "xdist", "-n", "2", "--dist", "loadgroup", "-q"],
        cwd=tmp_path,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    def workers(pattern: str) -> set[str]:
        return {p.read_text() for p in (tmp_path / "ran").glob(pattern)}

    assert len(list((tmp_path / "ran").iterdir())) == 12
    # (Ungrouped, the first tests collected go to the workers in turn.)
    assert len(workers("*")) == 2, "the run was not parallel: nothing to check"
    assert len(workers("grouped-*")) == 1, "the xdist_group mark was ignored"
