"""Shared helpers of the reliability suite (tests/reliability).

Every emulator of the suite accepts :data:`SECRET`, every plugin run goes
through :func:`run_tap` / :func:`run_target`, which record what the plugin
printed in :data:`CAPTURED` for the suite's autouse check that the key never
appears in any output. :class:`FaultScript` arms emulator faults mid-run.
:func:`hostile_tap_config` / :func:`hostile_target_config` point a plugin at a
hostile server (:mod:`.hostile`) with the same key. The plugins' own helpers
come from :mod:`.tap_runs` and :mod:`.target_runs`.
"""

from __future__ import annotations

import json
import threading
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from algolia_emulator.faults import DropFault, StatusFault
from algolia_testkit import tap_runs, target_runs

if t.TYPE_CHECKING:
    from algolia_testkit.hostile import HostileServer

TAP = tap_runs.TAP
TARGET = target_runs.CLI

#: A distinctive API key. Every emulator of this suite accepts it, so it
#: travels in every request; no output of any test may ever contain it.
SECRET = "rk-9Zq4-SECRET-never-print-7f3b"
SECRET_SEARCH_ONLY = "rk-2Lm8-SECRET-search-only-c41d"
ALL_ACLS = ("search", "browse", "recommendation")
API_KEYS = {SECRET: ALL_ACLS, SECRET_SEARCH_ONLY: ("search",)}

#: Every piece of text a plugin printed during the current test (stdout,
#: stderr, files it wrote). The autouse fixture in conftest.py scans it.
CAPTURED: list[str] = []


def capture(*texts: str) -> None:
    CAPTURED.extend(texts)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR " in line or "CRITICAL" in line]


def assert_clean_failure(returncode: int, stderr: str, *expected: str) -> str:
    """A non-zero exit, no traceback, exactly one error line naming the cause."""
    assert returncode != 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = error_lines(stderr)
    assert len(lines) == 1, lines or stderr[-2000:]
    for part in expected:
        assert part in lines[0], (part, lines[0])
    return lines[0]


# Emulator-side fault scripts --------------------------------------------------


class FaultScript:
    """Arms a fault when the (after_calls + 1)-th API call reaches the emulator.

    White-box: wraps the in-process emulator's fault hooks (``take_drop`` is
    called first for every API call, then ``take_status``), so "mid-run"
    is deterministic instead of a race between a poller and the plugin.
    """

    def __init__(self, server: t.Any, after_calls: int) -> None:
        self.server = server
        self.faults = server.emulator.faults
        self.after_calls = after_calls
        self.calls = 0
        self.fired_at: float | None = None
        self._lock = threading.Lock()
        self._arm: t.Callable[[], None] = lambda: None
        self._outage_until = 0.0
        self._outage_kind = ""
        self._slow_left = 0
        self._slow_until = 0.0
        self._slow_seconds = 0.0
        self._original_drop = self.faults.take_drop
        self._original_status = self.faults.take_status
        self.faults.take_drop = self._take_drop
        self.faults.take_status = self._take_status

    # What to arm ---------------------------------------------------------------

    def statuses(
        self, *statuses: int, retry_after: int | None = None, headers: bool = True
    ) -> None:
        def arm() -> None:
            for status in statuses:
                self.faults.add_status(
                    StatusFault(
                        status=status,
                        remaining=1,
                        retry_after=retry_after,
                        rate_limit_headers=headers,
                    )
                )

        self._arm = arm

    def drops(self, count: int) -> None:
        self._arm = lambda: self.faults.add_drop(DropFault(remaining=count))

    def outage(self, seconds: float, kind: str = "503") -> None:
        """Every API call fails for ``seconds`` (a 503, or a dropped connection)."""

        def arm() -> None:
            self._outage_kind = kind
            self._outage_until = time.monotonic() + seconds

        self._arm = arm

    def slow(self, seconds: float, *, count: int = 0, for_seconds: float = 0.0) -> None:
        """The next ``count`` calls (or all calls for ``for_seconds``) answer late."""

        def arm() -> None:
            self._slow_seconds = seconds
            self._slow_left = count
            self._slow_until = time.monotonic() + for_seconds

        self._arm = arm

    def end_outage(self) -> None:
        self._outage_until = 0.0
        self._slow_until = 0.0
        self._slow_left = 0

    # Hooks -------------------------------------------------------------------------

    def _take_drop(self, method: str, path: str) -> bool:
        with self._lock:
            self.calls += 1
            if self.calls == self.after_calls + 1:
                self.fired_at = time.monotonic()
                self._arm()
            now = time.monotonic()
            slow = False
            if self._slow_left > 0:
                self._slow_left -= 1
                slow = True
            elif now < self._slow_until:
                slow = True
            in_outage = now < self._outage_until
        if slow:
            time.sleep(self._slow_seconds)
        if in_outage and self._outage_kind == "drop":
            return True
        return bool(self._original_drop(method, path))

    def _take_status(self, method: str, path: str) -> StatusFault | None:
        if time.monotonic() < self._outage_until and self._outage_kind == "503":
            return StatusFault(status=503, remaining=1, rate_limit_headers=False)
        return t.cast("StatusFault | None", self._original_status(method, path))


# Running the tap -----------------------------------------------------------------


@dataclass
class ProcessRun:
    returncode: int
    stdout: str
    stderr: str
    started: float = 0.0  # wall clock (time.time) just before the process started
    ended: float = 0.0
    states_seen: list[t.Any] = field(default_factory=list)

    @property
    def messages(self) -> list[dict[str, t.Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def write_json(path: Path, value: t.Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def tap_config(server: t.Any, **extra: t.Any) -> dict[str, t.Any]:
    return {"app_id": server.app_id, "api_key": SECRET, "api_url": server.url, **extra}


def bookmark_state(value: str) -> dict[str, t.Any]:
    return {
        "bookmarks": {"users": {"replication_key": "lastUpdatedAt", "replication_key_value": value}}
    }


def run_tap(
    config: dict[str, t.Any],
    tmp_path: Path,
    *args: str,
    state: dict[str, t.Any] | None = None,
    timeout: float = 60,
) -> ProcessRun:
    started = time.time()
    done = tap_runs.run_tap_cli(config, tmp_path, *args, state=state, timeout=timeout)
    capture(done.stdout, done.stderr)
    return ProcessRun(done.returncode, done.stdout, done.stderr, started, time.time())


def tap_bookmarks(run: ProcessRun) -> list[str]:
    return [
        m["value"]["bookmarks"]["users"]["replication_key_value"]
        for m in run.messages
        if m["type"] == "STATE" and "users" in m["value"].get("bookmarks", {})
    ]


def tap_records(run: ProcessRun) -> list[dict[str, t.Any]]:
    return [m["record"] for m in run.messages if m["type"] == "RECORD"]


def discovered_catalog(config: dict[str, t.Any], tmp_path: Path) -> dict[str, t.Any]:
    """The catalog ``tap-algolia --discover`` prints for ``config``."""
    run = run_tap(config, tmp_path, "--discover")
    assert run.returncode == 0, run.stderr[-2000:]
    return t.cast("dict[str, t.Any]", json.loads(run.stdout))


def write_catalog(
    config: dict[str, t.Any],
    tmp_path: Path,
    *,
    keep: t.Callable[[str], bool] | None = None,
    replication_method: str | None = None,
) -> Path:
    """A discovered catalog with a field selection and/or a replication method, as a file."""
    catalog = discovered_catalog(config, tmp_path)
    for entry in catalog["streams"]:
        if replication_method is not None:
            entry["replication_method"] = replication_method
        for item in entry["metadata"]:
            breadcrumb = item["breadcrumb"]
            if not breadcrumb:
                item["metadata"]["selected"] = True
                if replication_method is not None:
                    item["metadata"]["forced-replication-method"] = replication_method
            elif keep is not None and item["metadata"].get("inclusion") != "automatic":
                item["metadata"]["selected"] = keep(breadcrumb[-1])
    return write_json(tmp_path / "catalog.json", catalog)


# Running the target ------------------------------------------------------------------


def target_config(server: t.Any, **overrides: t.Any) -> dict[str, t.Any]:
    return target_runs.base_config(server, api_key=SECRET, **overrides)


def run_target(
    config: dict[str, t.Any],
    messages: t.Iterable[dict | str],
    tmp_path: Path,
    *,
    on_state: t.Callable[[t.Any], None] | None = None,
    args: t.Sequence[str] = (),
    timeout: float = 60,
) -> ProcessRun:
    """Run target-algolia; ``on_state`` sees each STATE value as it is emitted."""
    stderr_path = tmp_path / "target-stderr.txt"
    started = time.time()
    seen: list[t.Any] = []
    out_lines: list[str] = []
    with (
        stderr_path.open("w") as stderr_file,
        target_runs.spawn_cli(
            config, tmp_path, stderr=stderr_file, config_name="target-config.json", args=args
        ) as proc,
    ):
        assert proc.stdin is not None
        assert proc.stdout is not None
        feeder = threading.Thread(
            target=_feed, args=(proc.stdin, target_runs.to_lines(messages)), daemon=True
        )
        feeder.start()
        for line in proc.stdout:
            out_lines.append(line)
            if line.strip() and not args:  # with args (--about) stdout is not STATE lines
                value = json.loads(line)
                seen.append(value)
                if on_state is not None:
                    on_state(value)
        returncode = proc.wait(timeout=timeout)
        feeder.join(timeout=5)
    stdout = "".join(out_lines)
    stderr = stderr_path.read_text()
    capture(stdout, stderr)
    return ProcessRun(returncode, stdout, stderr, started, time.time(), seen)


def _feed(stdin: t.IO[str], text: str) -> None:
    try:
        stdin.write(text)
        stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass  # the target stopped reading (it failed); that is what is tested


# Plugins against a hostile server (algolia_testkit.hostile) -------------------------

#: What a hostile server sends where the plugins expect a list page (tap) or a
#: profile (target), as the start of a body it may pad, drip or cut short.
EMPTY_PAGE = json.dumps({"users": [], "nextPageToken": None}).encode()
PROFILE = json.dumps(
    {"userID": "u1", "lastUpdatedAt": "2026-10-01T00:00:00Z", "segments": []}
).encode()

#: A target input that reads and writes one profile, ``u1``.
ONE_EVENT = [target_runs.schema(), target_runs.event("u1", "vip")]


def hostile_tap_config(server: HostileServer, **extra: t.Any) -> dict[str, t.Any]:
    return {"app_id": "APP", "api_key": SECRET, "api_url": server.url, **extra}


def hostile_target_config(server: HostileServer, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "app_id": "APP",
        "api_key": SECRET,
        "api_url": server.url,
        "summary_interval_seconds": 0,
        "max_requests_per_minute": 100_000,
        **extra,
    }
