"""A throwaway PostgreSQL server in a temporary directory, for the end-to-end tests
and the benchmarks that need a real warehouse.

PostgreSQL binaries are looked up in this order (the first directory that has
``initdb``, ``pg_ctl`` and ``postgres`` wins):

1. ``$PG_BINDIR``
2. ``pg_config --bindir`` (``pg_config`` on ``PATH``)
3. ``/usr/lib/postgresql/<newest>/bin`` (Debian/Ubuntu packages)
4. ``/usr/pgsql-<newest>/bin`` (RHEL packages), ``/usr/local/pgsql/bin``,
   ``/usr/local/bin``, ``/opt/homebrew/bin``
5. the directory of ``initdb`` on ``PATH``

``psql`` comes from the same directory, else from ``PATH``. The server runs with
``wal_level=logical`` and a few replication slots, for tap-postgres LOG_BASED
streams (which also need the wal2json output plugin: Debian's
``postgresql-<major>-wal2json``; see :func:`has_wal2json`). PostgreSQL refuses
to run as root, so as root the server runs as the ``postgres`` system user (created with
``useradd --system`` when missing, ``nobody`` as a last resort).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_pg_bindir() -> Path | None:
    candidates: list[str] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10
            )
            candidates.append(out.stdout.strip())
    from glob import glob

    candidates += sorted(glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates += sorted(glob("/usr/pgsql-*/bin"), key=_version_key, reverse=True)
    candidates += ["/usr/local/pgsql/bin", "/usr/local/bin", "/opt/homebrew/bin"]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for raw in candidates:
        if raw and all(os.access(Path(raw) / b, os.X_OK) for b in _SERVER_BINARIES):
            return Path(raw)
    return None


def has_wal2json(bindir: Path) -> bool:
    """Whether the server in ``bindir`` has the wal2json logical decoding plugin."""
    pg_config = bindir / "pg_config"
    libdir: str | None = None
    if pg_config.exists():
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [str(pg_config), "--pkglibdir"], capture_output=True, text=True, timeout=10
            )
            libdir = out.stdout.strip() or None
    candidates = [Path(libdir)] if libdir else []
    candidates.append(bindir.parent / "lib")  # Debian: /usr/lib/postgresql/<major>/lib
    return any((directory / "wal2json.so").exists() for directory in candidates)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> pwd.struct_passwd | None:
    """None when not root; otherwise an unprivileged account to run postgres as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
        if name == "postgres" and shutil.which("useradd"):
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/bin/false", "postgres"],
                capture_output=True,
                check=False,
            )
            with contextlib.suppress(KeyError):
                return pwd.getpwnam("postgres")
    raise RuntimeError("running as root and found no unprivileged user for postgres")


@dataclass
class PostgresServer:
    bindir: Path
    psql: str
    port: int = 0
    host: str = "127.0.0.1"
    user: str = "postgres"
    database: str = "postgres"
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="algolia-e2e-pg-")))
    account: pwd.struct_passwd | None = None

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    def _as_server_user(self, args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        env["HOME"] = str(self.workdir)
        extra: dict[str, Any] = {}
        if self.account is not None:
            extra = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        return subprocess.run(
            args,
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            **extra,
            **kw,
        )

    def start(self) -> PostgresServer:
        self.account = _server_user()
        if self.account is not None:
            os.chown(self.workdir, self.account.pw_uid, self.account.pw_gid)
        init = self._as_server_user(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
            timeout=180,
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        last = ""
        for _ in range(5):  # a free port can be taken between probe and bind
            self.port = _free_port()
            options = (
                f"-c listen_addresses={self.host} -p {self.port} "
                f"-c unix_socket_directories='{self.workdir}' -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c timezone=UTC "
                "-c wal_level=logical -c max_replication_slots=8 -c max_wal_senders=8"
            )
            started = self._as_server_user(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.workdir / "postgres.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                timeout=120,
            )
            if started.returncode == 0:
                return self
            log = self.workdir / "postgres.log"
            last = started.stdout + started.stderr + (log.read_text() if log.exists() else "")
            time.sleep(0.5)
        raise RuntimeError(f"pg_ctl start failed:\n{last}")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._as_server_user(
                [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "stop"],
                timeout=60,
            )
        shutil.rmtree(self.workdir, ignore_errors=True)

    def sql(self, statement: str) -> str:
        """Run SQL with psql; returns unaligned, tuples-only output."""
        out = subprocess.run(
            [
                self.psql,
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                self.database,
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-q",
                "-A",
                "-t",
                "-c",
                statement,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10", "PGTZ": "UTC"},
            timeout=60,
            check=False,
        )
        if out.returncode != 0:
            raise AssertionError(f"psql failed: {out.stderr}\nSQL: {statement}")
        return out.stdout.strip()

    def query_json(self, select: str) -> list[dict[str, Any]]:
        """Rows of a SELECT as a list of dicts (one JSON document from the server)."""
        # Test-owned SQL only, never outside input.
        text = self.sql(f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({select}) AS q")  # noqa: S608
        return json.loads(text)

    def env(self, prefix: str) -> dict[str, str]:
        return {
            f"{prefix}_HOST": self.host,
            f"{prefix}_PORT": str(self.port),
            f"{prefix}_USER": self.user,
            f"{prefix}_PASSWORD": "",
            f"{prefix}_DATABASE": self.database,
        }
