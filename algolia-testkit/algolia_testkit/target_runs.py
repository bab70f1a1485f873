"""Helpers for driving target-algolia against the emulator, in-process or as a CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

from target_algolia.target import TargetAlgolia

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer

STAMP = "2026-10-01T00:00:00Z"
CLI = str(Path(sys.executable).with_name("target-algolia"))


def base_config(emu: EmulatorServer, **overrides: t.Any) -> dict[str, t.Any]:
    config: dict[str, t.Any] = {
        "app_id": emu.app_id,
        "api_key": emu.api_key,
        "api_url": emu.url,
        # Tests pace with the emulator's own limit unless they say otherwise.
        "max_requests_per_minute": 100_000,
        "concurrency": 8,
        "summary_interval_seconds": 0,
        "max_retries": 6,
        "request_timeout": 5,
    }
    config.update(overrides)
    return config


def put_user(emu: EmulatorServer, user_id: str, segments: list[tuple[str, str]]) -> None:
    emu.admin.upsert_user(
        {
            "userID": user_id,
            "lastUpdatedAt": STAMP,
            "segments": [{"id": slug, "source": source} for slug, source in segments],
        }
    )


def segments_of(emu: EmulatorServer, user_id: str) -> list[tuple[str, str]]:
    user = emu.admin.get_user(user_id)
    assert user is not None, user_id
    return [(s["id"], s["source"]) for s in user.get("segments") or []]


def schema(stream: str = "audience", properties: dict | None = None) -> dict[str, t.Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties or {}},
        "key_properties": [],
    }


def record(rec: dict[str, t.Any], stream: str = "audience") -> dict[str, t.Any]:
    return {"type": "RECORD", "stream": stream, "record": rec}


def event(user: t.Any, slug: t.Any, kind: t.Any = "enter", stream: str = "audience") -> dict:
    return record({"algolia_user_id": user, "segment": slug, "event": kind}, stream)


def snapshot(user: t.Any, slugs: t.Any, stream: str = "audience") -> dict:
    return record({"algolia_user_id": user, "segments": slugs}, stream)


def state(value: t.Any) -> dict[str, t.Any]:
    return {"type": "STATE", "value": {"bookmark": value}}


def to_lines(messages: t.Iterable[dict | str]) -> str:
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)


@dataclass
class InProcessRun:
    target: TargetAlgolia
    stdout: list[str]
    error: BaseException | None

    @property
    def states(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout if line.strip()]


def run_in_process(config: dict[str, t.Any], messages: t.Iterable[dict | str]) -> InProcessRun:
    """Run the target on the messages; STATE lines are what it wrote to stdout."""
    target = TargetAlgolia(config=config)
    out = io.StringIO()
    error: BaseException | None = None
    with contextlib.redirect_stdout(out):
        try:
            target.listen(io.StringIO(to_lines(messages)))
        except Exception as exc:
            error = exc
    return InProcessRun(target, out.getvalue().splitlines(), error)


def write_config(config: dict[str, t.Any], tmp_path: Path, name: str = "config.json") -> Path:
    config_path = tmp_path / name
    config_path.write_text(json.dumps(config))
    return config_path


def run_cli(
    config: dict[str, t.Any], messages: t.Iterable[dict | str], tmp_path: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "--config", str(write_config(config, tmp_path))],
        input=to_lines(messages),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def spawn_cli(
    config: dict[str, t.Any],
    tmp_path: Path,
    *,
    stdin: int | t.IO[str] = subprocess.PIPE,
    stderr: int | t.IO[str] = subprocess.PIPE,
    config_name: str = "config.json",
    env: dict[str, str] | None = None,
    args: t.Sequence[str] = (),
) -> subprocess.Popen[str]:
    """The target as a running process, its config in ``tmp_path/config_name``.

    stdout is piped (STATE lines as printed); stdin is piped unless given (an
    open file, another process's stdout); stderr is piped unless given; ``args``
    follow ``--config``.
    """
    return subprocess.Popen(
        [CLI, "--config", str(write_config(config, tmp_path, config_name)), *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
    )


def feed_and_close(proc: subprocess.Popen[str], messages: t.Iterable[dict | str]) -> None:
    """Write all of ``messages`` to a :func:`spawn_cli` target and end its input."""
    assert proc.stdin is not None
    proc.stdin.write(to_lines(messages))
    proc.stdin.close()


def load_profiles(emu: EmulatorServer, segments_by_user: dict[str, list[tuple[str, str]]]) -> None:
    """Replace the emulator's profiles at once (thousands in milliseconds, in-process only)."""
    emu.emulator.store.replace_all(
        {
            "userID": user_id,
            "lastUpdatedAt": STAMP,
            "segments": [{"id": slug, "source": source} for slug, source in segments],
        }
        for user_id, segments in segments_by_user.items()
    )


def api_calls(emu: EmulatorServer) -> dict[str, t.Any]:
    """Calls the target made, by kind: list pages, per-user GETs and PUTs."""
    stats = emu.admin.stats()
    return {
        "list": stats["byRoute"].get("GET /2/users", 0),
        "gets": stats["userGets"],
        "puts": stats["userPuts"],
    }


def start_cli(config: dict[str, t.Any], tmp_path: Path) -> subprocess.Popen[str]:
    """The target as a running process: stdin and stdout piped, stderr in tmp_path/stderr.log.

    It logs at DEBUG, so :func:`wait_until_reading` sees when a stream's sink is set up.
    """
    with (tmp_path / "stderr.log").open("w") as stderr:
        return spawn_cli(
            config, tmp_path, stderr=stderr, env={**os.environ, "TARGET_ALGOLIA_LOGLEVEL": "DEBUG"}
        )


def wait_until_reading(tmp_path: Path, stream: str, timeout: float = 30) -> None:
    """Wait for a target from :func:`start_cli` to have set up ``stream`` (its SCHEMA is read)."""
    log = tmp_path / "stderr.log"
    deadline = time.monotonic() + timeout
    while f"Initializing target sink for stream '{stream}'" not in log.read_text():
        assert time.monotonic() < deadline, "the target never started reading"
        time.sleep(0.02)


def summary_fields(stderr: str) -> dict[str, str]:
    """The ``name=value`` fields of the run's summary line on stderr."""
    line = next(line for line in stderr.splitlines() if "Run summary" in line)
    pairs = (part.split("=", 1) for part in line.split("Run summary", 1)[1].split() if "=" in part)
    return dict(pairs)
