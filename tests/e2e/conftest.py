"""Fixtures for the end-to-end tests: Meltano with the project's plugins, a real
PostgreSQL server in a temporary directory (:mod:`algolia_testkit.postgres`, which
says where the binaries are looked for), and a `meltano run` helper. Without the
binaries the tests are skipped with that reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from algolia_testkit.postgres import PostgresServer, find_pg_bindir

ROOT = Path(__file__).resolve().parents[2]
MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
SETUP = ROOT / "scripts" / "setup-meltano.sh"

# Variables from the caller's shell that would silently change what a plugin sees.
_SCRUB = re.compile(
    r"^(MELTANO_|TAP_ALGOLIA|TARGET_ALGOLIA|TAP_POSTGRES|TARGET_POSTGRES|"
    r"TAP_AUDIENCE_EVENTS|TARGET_JSONL|ALGOLIA_|PG[A-Z]+$)"
)


# --------------------------------------------------------------------------- #
# PostgreSQL                                                                  #
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in $PG_BINDIR, "
            "pg_config --bindir, /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, "
            "/usr/local/pgsql/bin, /usr/local/bin or PATH: apt-get install postgresql"
        )
    psql = str(bindir / "psql") if (bindir / "psql").exists() else shutil.which("psql")
    if psql is None:
        pytest.skip(f"psql not found in {bindir} or PATH")
    server = PostgresServer(bindir=bindir, psql=psql)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


# --------------------------------------------------------------------------- #
# Meltano                                                                     #
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="session")
def meltano_installed() -> Path:
    """Meltano and every plugin of meltano.yml installed (once; a no-op when warm)."""
    env = {k: v for k, v in os.environ.items() if not _SCRUB.match(k)}
    out = subprocess.run(
        ["bash", str(SETUP)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    if out.returncode != 0:
        pytest.fail(f"scripts/setup-meltano.sh failed:\n{out.stdout}\n{out.stderr}")
    return MELTANO


@pytest.fixture(scope="session")
def meltano_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A system database of our own, so a concurrent demo run cannot lock us out."""
    return f"sqlite:///{tmp_path_factory.mktemp('meltano-db') / 'meltano.db'}"


@pytest.fixture(scope="session")
def meltano_sys_dir(meltano_installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This xdist worker's own ``.meltano`` folder (``MELTANO_SYS_DIR_ROOT``).

    Meltano writes a plugin's catalog and state files under ``.meltano/run/<plugin>/``
    with the same names on every run, so two workers running the same pipeline in
    one project would overwrite each other's. Here each worker has its own run
    files and logs; the plugin installs (extractors/, loaders/, utilities/) are
    links to the ones scripts/setup-meltano.sh made once, which runs only read.
    """
    own = tmp_path_factory.mktemp("meltano-sys-dir")
    for entry in (ROOT / ".meltano").iterdir():
        if entry.is_dir() and entry.name not in ("run", "logs"):
            (own / entry.name).symlink_to(entry, target_is_directory=True)
    return own


@dataclass
class Meltano:
    exe: Path
    base_env: dict[str, str]
    logdir: Path
    runs: int = 0
    cwd: Path = ROOT  # the Meltano project

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: int = 600,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``meltano *args`` in the project, logged; a non-zero exit fails the test
        unless ``check`` is False (the caller then asserts the outcome itself)."""
        self.runs += 1
        full_env = {**self.base_env, **(env or {})}
        out = subprocess.run(
            [str(self.exe), *args],
            cwd=self.cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        label = re.sub(r"[^\w.]+", "-", "-".join(a.strip("-") for a in args))[:60]
        log = self.logdir / f"{self.runs:02d}-{label}.log"
        log.write_text(f"$ meltano {' '.join(args)}\n{out.stdout}\n--- stderr ---\n{out.stderr}")
        if check and out.returncode != 0:
            tail = "\n".join(out.stderr.splitlines()[-60:])
            pytest.fail(f"meltano {' '.join(args)} exited {out.returncode} (log {log}):\n{tail}")
        return out

    def state(self, state_id: str) -> dict[str, Any]:
        out = self("state", "get", state_id)
        return json.loads(out.stdout.strip().splitlines()[-1])


def clean_env() -> dict[str, str]:
    """The caller's environment without variables that would change what Meltano sees."""
    return {k: v for k, v in os.environ.items() if not _SCRUB.match(k)}


@pytest.fixture
def meltano(
    meltano_installed: Path, meltano_db: str, meltano_sys_dir: Path, tmp_path: Path
) -> Meltano:
    """`meltano ...` in the dev environment with this test's own state store, and this
    worker's own system database and ``.meltano`` folder."""
    env = clean_env()
    env.update(
        {
            "MELTANO_ENVIRONMENT": "dev",
            "MELTANO_DATABASE_URI": meltano_db,
            "MELTANO_SYS_DIR_ROOT": str(meltano_sys_dir),
            "MELTANO_STATE_BACKEND_URI": f"file://{tmp_path / 'state'}",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    logdir = tmp_path / "meltano-logs"
    logdir.mkdir()
    return Meltano(exe=meltano_installed, base_env=env, logdir=logdir)


@pytest.fixture
def new_meltano_project(meltano_installed: Path, tmp_path: Path) -> Meltano:
    """`meltano init` in a temporary directory outside this repository, as a user starts.

    Returns `meltano ...` run in that project with its own system database.
    """
    env = {
        **clean_env(),
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    logdir = tmp_path / "meltano-logs"
    logdir.mkdir()
    outside = Meltano(exe=meltano_installed, base_env=env, logdir=logdir, cwd=tmp_path)
    outside("init", "--no-usage-stats", "my-project")
    project = tmp_path / "my-project"
    assert (project / "meltano.yml").is_file()
    assert not project.resolve().is_relative_to(ROOT)
    return Meltano(exe=meltano_installed, base_env=env, logdir=logdir, cwd=project, runs=1)
