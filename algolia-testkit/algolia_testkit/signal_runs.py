"""A target-algolia process to signal while it works, and what it printed meanwhile.

:class:`SignalledRun` starts the real ``target-algolia`` executable, feeds it
input and may leave its stdin open (a live stream, where only a signal ends
the run). A thread reads stdout as it comes, and for each STATE line calls
``on_state`` at once: a test checks there what the emulator holds at the very
moment the STATE appeared (a held request not yet released cannot have made a
STATE true after the fact). stderr goes to a file, so a test can wait for a
log line (the SDK's "sink is full" line) before it signals.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import struct
import subprocess
import termios
import threading
import time
import typing as t

from algolia_testkit import target_runs

if t.TYPE_CHECKING:
    from pathlib import Path


def wait_until(condition: t.Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


class SignalledRun:
    """One target process; ``states`` are the STATE values it printed, in order."""

    def __init__(
        self,
        config: dict[str, t.Any],
        tmp_path: Path,
        *,
        on_state: t.Callable[[t.Any], None] | None = None,
        name: str = "run",
    ) -> None:
        self.log_path = tmp_path / f"{name}-stderr.log"
        self.states: list[t.Any] = []
        self.on_state = on_state
        #: What ``on_state`` raised, raised again by :meth:`finish`.
        self.errors: list[BaseException] = []
        with self.log_path.open("w") as stderr:
            self.proc = target_runs.spawn_cli(
                config,
                tmp_path,
                stderr=stderr,
                config_name=f"{name}-config.json",
                env={**os.environ, "TARGET_ALGOLIA_LOGLEVEL": "INFO"},
            )
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.strip():
                continue
            value = json.loads(line)  # a target prints each STATE's value as one line
            self.states.append(value)
            if self.on_state is not None:
                try:
                    self.on_state(value)
                except BaseException as exc:
                    self.errors.append(exc)

    # Input -----------------------------------------------------------------------

    def feed(self, messages: t.Iterable[dict | str]) -> None:
        """Write messages to stdin and flush; stdin stays open."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(target_runs.to_lines(messages))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the target stopped reading; what it did is what is checked

    def close_input(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            self.proc.stdin.close()

    def unread_input(self) -> int:
        """Bytes written to stdin that the target has not read yet."""
        assert self.proc.stdin is not None
        if self.proc.stdin.closed:
            return 0
        raw = fcntl.ioctl(self.proc.stdin.fileno(), termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", raw)[0])

    def wait_input_taken(self, settle: float = 0.4) -> None:
        """Wait until the target has read all its input, then ``settle`` seconds more.

        Reading is not processing: the settle time lets it handle lines it
        already buffered (a few hundred, microseconds each).
        """
        wait_until(lambda: self.unread_input() == 0, "the target to read its input")
        time.sleep(settle)

    # Log -------------------------------------------------------------------------

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 20.0) -> None:
        wait_until(lambda: text in self.log() or self.proc.poll() is not None, repr(text), timeout)
        assert text in self.log(), f"the target exited before logging {text!r}:\n{self.log()}"

    # Signals ---------------------------------------------------------------------

    def signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signum)

    def burst(self, signum: int, *, every: float, count: int) -> int:
        """Send ``signum`` every ``every`` seconds, ``count`` times or until the exit."""
        sent = 0
        while sent < count and self.proc.poll() is None:
            self.signal(signum)
            sent += 1
            time.sleep(every)
        return sent

    def burst_in_background(self, signum: int, *, every: float, count: int) -> threading.Thread:
        thread = threading.Thread(
            target=self.burst, args=(signum,), kwargs={"every": every, "count": count}
        )
        thread.start()
        return thread

    def exited_within(self, seconds: float) -> bool:
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def finish(self, timeout: float = 20.0) -> int:
        """The exit code, once the process and its stdout reader are done.

        A target still running after ``timeout`` is killed, and the test fails.
        """
        self.close_input()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._reader.join(5)
            msg = f"the target did not exit within {timeout} s:\n{self.log()}"
            raise AssertionError(msg) from None
        self._reader.join(5)
        if self.errors:
            raise self.errors[0]
        return code


def sigterm_burst_after_sigint(
    run: SignalledRun, *, every: float = 0.002, count: int = 200
) -> None:
    """SIGINT, then SIGTERM every ``every`` seconds until the target exits."""
    run.signal(signal.SIGINT)
    run.burst(signal.SIGTERM, every=every, count=count)
