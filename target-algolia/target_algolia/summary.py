"""Run counters, the rejects file, and the summary the target logs."""

from __future__ import annotations

import os
import threading
import time
import typing as t
from collections import Counter
from pathlib import Path

from algolia_api import is_valid_text
from target_algolia.numbers import json_text

if t.TYPE_CHECKING:
    import logging

    from algolia_api import AlgoliaClient


class RunStats:
    """What a run did so far. Thread-safe: batch workers update it concurrently."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started_at = time.monotonic()
        self.records = 0
        self.users = 0
        self.segments_added = 0
        self.segments_removed = 0
        self.writes = 0
        self.would_write = 0
        self.unchanged = 0
        self.users_in_several_batches = 0
        self.repeat_reads = 0
        self.scan_pages = 0
        #: Longest time between reading a profile and the end of its PUT.
        self.max_window_seconds = 0.0
        #: Mirror stream -> its outcome (proof, segments added/removed).
        self.mirror: dict[str, str] = {}
        #: The erasure streams' outcome (counts, latest deletedUntil); "" without them.
        self.erasure = ""
        self.skipped: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        # Longest a batch's oldest record waited from acceptance to written (s).
        self.longest_wait = 0.0

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def _mirror_outcomes(self) -> str:
        return ",".join(f"{stream}:{outcome}" for stream, outcome in sorted(self.mirror.items()))

    def note_mirror(self, stream: str, outcome: str) -> None:
        with self._lock:
            self.mirror[stream] = outcome

    def note_erasure(self, outcome: str) -> None:
        with self._lock:
            self.erasure = outcome

    def note_window(self, seconds: float) -> None:
        with self._lock:
            self.max_window_seconds = max(self.max_window_seconds, seconds)

    def skip(self, reason: str, amount: int = 1) -> None:
        with self._lock:
            self.skipped[reason] += amount

    def reject(self, reason: str, amount: int = 1) -> None:
        with self._lock:
            self.rejected[reason] += amount

    def waited(self, seconds: float) -> None:
        with self._lock:
            self.longest_wait = max(self.longest_wait, seconds)

    def summary(
        self,
        client: AlgoliaClient | None,
        *,
        final: bool,
        dry_run: bool,
        backlog: tuple[int, float] = (0, 0.0),
    ) -> str:
        """One log line; never carries configuration or credentials.

        ``backlog`` is (records accepted but not yet written, age in seconds
        of the oldest of them): it grows when input outruns the request budget.
        """
        with self._lock:
            calls = client.stats.calls if client else 0
            parts = [
                "Run summary" if final else "Progress",
                f"records={self.records}",
                f"users={self.users}",
                f"segments_added={self.segments_added}",
                f"segments_removed={self.segments_removed}",
                (f"writes_planned={self.would_write} (dry run)" if dry_run else "")
                or f"writes={self.writes}",
                f"users_unchanged={self.unchanged}",
                f"users_in_several_batches={self.users_in_several_batches}",
                f"repeat_reads={self.repeat_reads}",
                # Only runs that scanned: pages, and how long a scanned copy was trusted.
                *(
                    [
                        f"scan_pages={self.scan_pages}",
                        f"max_read_to_write_seconds={self.max_window_seconds:.2f}",
                    ]
                    if self.scan_pages
                    else []
                ),
                *([f"mirror={{{self._mirror_outcomes()}}}"] if self.mirror else []),
                *([f"erasure={{{self.erasure}}}"] if self.erasure else []),
                f"skipped={_by_reason(self.skipped)}",
                f"rejected={_by_reason(self.rejected)}",
                f"api_calls={calls}",
                f"retries={client.retries if client else 0}",
                f"rate_limited_429={client.stats.rate_limited if client else 0}",
                f"calls_per_minute={client.stats.busiest_minute if client else 0}",
                f"backlog={backlog[0]}",
                f"oldest_waiting_s={backlog[1]:.1f}",
                f"longest_wait_s={self.longest_wait:.1f}",
            ]
        return " ".join(parts)


def _by_reason(counter: Counter[str]) -> str:
    if not counter:
        return "0"
    inner = ",".join(f"{reason}:{n}" for reason, n in sorted(counter.items()))
    return f"{sum(counter.values())}{{{inner}}}"


class RejectsPathError(Exception):
    """``rejects_path`` cannot be written; the message says what to fix."""


def open_rejects_file(path: t.Any) -> RejectsFile | None:
    """The ``rejects_path`` setting opened for appending (``~`` expanded), or None if unset.

    Raises RejectsPathError, reported as one line, if it cannot be written.
    """
    if not path:
        return None
    try:
        return RejectsFile(path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        msg = (
            f"Invalid configuration: rejects_path {str(path)!r} cannot be written ({reason}): "
            "set it to a file path in a directory this user can write to"
        )
        raise RejectsPathError(msg) from None


class RejectsFile:
    """JSON lines ``{"record", "reason", "stream"}``, flushed to disk per batch."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, record: t.Any, reason: str, stream: str) -> None:
        entry = {"record": record, "reason": reason, "stream": stream}
        line = json_text(entry, ensure_ascii=False)  # numbers as sent (numbers.py)
        if not is_valid_text(line):
            # A record rejected for text that is not UTF-8: escaped (\udcff), so
            # the file stays UTF-8 and the record is still named.
            line = json_text(entry)
        with self._lock:
            self._handle.write(line + "\n")

    def flush(self) -> None:
        with self._lock:
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._handle.closed:
                self._handle.flush()
                self._handle.close()


class PeriodicSummary:
    """Logs ``make_line()`` every ``interval`` seconds from a daemon thread."""

    def __init__(
        self, interval: float, make_line: t.Callable[[], str], logger: logging.Logger
    ) -> None:
        self._interval = interval
        self._make_line = make_line
        self._logger = logger
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="summary", daemon=True)

    def start(self) -> None:
        if self._interval > 0:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._logger.info("%s", self._make_line())

    def stop(self) -> None:
        self._stop.set()
