"""An algolia-emulator in its own process, so it never shares a GIL with a contender."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from algolia_emulator import AdminClient

APP_ID = "EMULATORAPP"
API_KEY = "emulator-api-key"
SEED = 42
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def venv_bin(name: str) -> str:
    """An executable next to this interpreter (the shared .venv), else on PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


class Emulator:
    """``algolia-emulator`` as a subprocess; ``.url``, ``.admin``, ``.cpu_seconds()``."""

    def __init__(
        self,
        users: int,
        *,
        rate_limit: int = 1_000_000,
        rate_window: float = 60.0,
        latency_ms: float = 0.0,
        clock_offset: float = 0.0,
    ) -> None:
        self.users = users
        self.args = [
            venv_bin("algolia-emulator"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--users",
            str(users),
            "--seed",
            str(SEED),
            "--rate-limit",
            str(rate_limit),
            "--rate-window",
            str(rate_window),
            "--latency-ms",
            str(latency_ms),
            "--clock-offset",
            str(clock_offset),
        ]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 180.0) -> Emulator:
        self.proc = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if "listening on" in line or not line:
                break
        if "listening on" not in line:
            self.stop()
            msg = f"emulator did not start: {line!r}"
            raise RuntimeError(msg)
        self.url = line.split("listening on", 1)[1].split()[0]
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def admin(self) -> AdminClient:
        return AdminClient(self.url)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """User+system CPU the emulator process has used so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        # After the command name: state is field 3, utime 14, stime 15 (1-based).
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def tap_config(self, **extra: Any) -> dict[str, Any]:
        return {"app_id": APP_ID, "api_key": API_KEY, "api_url": self.url, **extra}

    def list_user_ids(self, count: int) -> list[str]:
        """The first ``count`` user IDs in API order (admin: not counted in stats)."""
        ids: list[str] = []
        token: str | None = None
        while len(ids) < count:
            query = f"limit={min(1000, count - len(ids))}"
            if token:
                query += f"&nextPageToken={token}"
            request = urllib.request.Request(  # noqa: S310 - loopback emulator
                f"{self.url}/2/users?{query}",
                headers={"x-algolia-application-id": APP_ID, "x-algolia-api-key": API_KEY},
            )
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                page = json.loads(response.read())
            ids.extend(user["userID"] for user in page["users"])
            token = page.get("nextPageToken")
            if not token:
                break
        return ids[:count]


@dataclass
class StatsSampler:
    """Polls the emulator's admin stats to timestamp API calls (the admin API is not counted)."""

    admin: AdminClient
    interval: float = 0.02
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, accepted, 429s)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _poll(self) -> None:
        while not self._stop.is_set():
            stats = self.admin.stats()
            by_status = stats.get("byStatus", {})
            limited = int(by_status.get("429", 0))
            accepted = sum(int(n) for s, n in by_status.items() if s != "429")
            self.samples.append((time.monotonic(), accepted, limited))
            self._stop.wait(self.interval)

    def __enter__(self) -> StatsSampler:
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
