"""max_wait_seconds: reading the input and acting while it is quiet.

The reader is checked against Python's own text reader (same lines), and the
bound against real pipes: a write must happen while the pipe stays silent.
The command-line behaviour is in test_live_stream_max_wait.py.
"""

from __future__ import annotations

import io
import json
import os
import queue
import threading
import time
import typing as t

import pytest

from algolia_testkit.target_runs import (
    base_config,
    event,
    put_user,
    schema,
    segments_of,
    spawn_cli,
    state,
    to_lines,
)
from target_algolia.input import max_wait
from target_algolia.input.max_wait import WaitBound, input_lines

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"

TEXT = (
    '{"a": "caf\u00e9 \u65e5\u672c \U0001f600"}\n'
    "\n"
    '{"crlf": 1}\r\n'
    '{"long": "' + "x" * 100 + '"}\n'
    '{"sep": "\u2028 stays inside the line"}\n'
    '{"last": "no newline"}'
)


@pytest.mark.parametrize("read_size", [3, 7, 64, max_wait.READ_SIZE])
def test_lines_are_those_of_the_text_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_size: int
) -> None:
    # Small reads split multi-byte characters, CRLF pairs and long lines.
    monkeypatch.setattr(max_wait, "READ_SIZE", read_size)
    path = tmp_path / "input.jsonl"
    path.write_bytes(TEXT.encode("utf-8"))
    with path.open(encoding="utf-8") as reference:
        expected = [line.removesuffix("\n") for line in reference]
    bound = WaitBound(1.0, lambda: None, lambda: False, lambda: None)
    for each in (None, bound):
        with path.open(encoding="utf-8") as stream:
            assert list(input_lines(stream, each)) == expected
    # An in-memory buffer is iterated as it is.
    assert list(input_lines(io.StringIO(TEXT), bound)) == list(io.StringIO(TEXT))


class Pipe:
    """An OS pipe: the reader's end as a text stream, the writer's end as bytes."""

    def __init__(self) -> None:
        read_fd, self.write_fd = os.pipe()
        self.reader = os.fdopen(read_fd, "r", encoding="utf-8")

    def write(self, line: str) -> float:
        os.write(self.write_fd, (line + "\n").encode())
        return time.monotonic()

    def close(self) -> None:
        os.close(self.write_fd)


class FakeTarget:
    """Pending records as a target holds them: the first one read dates the batch."""

    def __init__(self, max_wait_seconds: float, pipe: Pipe, on_act: t.Callable[[], None]) -> None:
        self.pending_since: float | None = None
        self.acts: list[float] = []
        self._on_act = on_act
        self.bound = WaitBound(
            max_wait_seconds, lambda: self.pending_since, lambda: False, self._act
        )

    def accept(self) -> None:
        if self.pending_since is None:
            self.pending_since = self.bound.arrival()

    def _act(self) -> None:
        self.acts.append(time.monotonic())
        self.pending_since = None
        self._on_act()


def _consume(lines: t.Iterator[str], target: FakeTarget, seen: list[str]) -> threading.Thread:
    def run() -> None:
        for line in lines:
            seen.append(line)
            target.accept()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_pending_records_are_written_while_the_input_stays_silent() -> None:
    pipe = Pipe()
    # The pipe ends only when the target acts: without the bound the reader
    # would wait for the next line forever.
    target = FakeTarget(0.3, pipe, pipe.close)
    seen: list[str] = []
    thread = _consume(input_lines(pipe.reader, target.bound), target, seen)
    written_at = pipe.write('{"n": 1}')
    thread.join(30)
    assert not thread.is_alive(), "the reader never acted on the bound"
    assert seen == ['{"n": 1}']
    assert len(target.acts) == 1
    assert target.acts[0] - written_at >= 0.3  # not before the bound either


def test_input_that_queued_during_a_write_is_dated_before_the_write_ended() -> None:
    pipe = Pipe()
    queued: list[float] = []

    def slow_write() -> None:
        if not queued:  # first write: a line arrives while it runs
            queued.append(pipe.write('{"n": 2}'))
            time.sleep(0.5)
        else:
            pipe.close()

    target = FakeTarget(0.2, pipe, slow_write)
    seen: list[str] = []
    arrivals: list[float | None] = []
    lines = input_lines(pipe.reader, target.bound)

    def run() -> None:
        for line in lines:
            seen.append(line)
            arrivals.append(target.bound.arrived_after)
            target.accept()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    pipe.write('{"n": 1}')
    thread.join(30)
    assert not thread.is_alive()
    assert seen == ['{"n": 1}', '{"n": 2}']
    # Line 2 waited through the slow write: its bound runs from before the
    # write ended, so the second write follows the first without a new wait.
    assert arrivals[1] is not None
    assert arrivals[1] <= queued[0]
    assert target.acts[1] - target.acts[0] < 0.5 + 0.2


class Running:
    """target-algolia as a subprocess whose stdin stays open; STATE lines read as printed."""

    def __init__(self, emu: EmulatorServer, tmp_path: Path, **settings: t.Any) -> None:
        self.proc = spawn_cli(base_config(emu, **settings), tmp_path)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, messages: list[dict]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(to_lines(messages))
        self.proc.stdin.flush()

    def next_state(self, timeout: float = 30) -> dict:
        try:
            return t.cast(dict, json.loads(self.lines.get(timeout=timeout)))
        except queue.Empty:
            raise AssertionError(f"no STATE within {timeout} s") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


def _puts(emu: EmulatorServer) -> dict[str, int]:
    return t.cast(dict, emu.admin.stats()["userPuts"])


def _wait_for(condition: t.Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_quiet_input_gets_records_written_and_state_emitted_then_coalesces_pending(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    for uid in ("u1", "u2"):
        put_user(emu, uid, [])
    target = Running(emu, tmp_path, max_wait_seconds=0.5)
    try:
        # Two events for u1 inside the bound: one write with both.
        target.send([schema(), event("u1", "a"), event("u1", "b"), state(1)])
        assert target.next_state() == {"bookmark": 1}  # stdin still open
        assert segments_of(emu, "u1") == [("a", M), ("b", M)]
        assert _puts(emu) == {"u1": 1}
        # A STATE with nothing pending is emitted once the input pauses.
        target.send([state(2)])
        assert target.next_state() == {"bookmark": 2}
        # After a quiet spell the next event is a write of its own.
        target.send([event("u1", "a", "exit"), event("u2", "a"), state(3)])
        assert target.next_state() == {"bookmark": 3}
        assert _puts(emu) == {"u1": 2, "u2": 1}
        assert segments_of(emu, "u1") == [("b", M)]
    finally:
        target.stop()


def test_a_failed_write_while_the_input_is_quiet_stops_the_run_without_state(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "u1", [])
    emu.admin.inject_status(401, count=1000, method="PUT")
    target = Running(emu, tmp_path, max_wait_seconds=0.3)
    try:
        target.send([schema(), event("u1", "vip"), state(1)])
        # The target stops by itself, with its input still open.
        assert target.proc.wait(timeout=60) != 0
    finally:
        target.stop()
    assert target.lines.empty()  # no STATE
    assert target.proc.stderr is not None
    err = target.proc.stderr.read()
    assert "Traceback" not in err
    assert "401" in err or "nauthori" in err, err[-500:]
    assert segments_of(emu, "u1") == []
