"""Helpers for running tap-algolia in tests and reading what it wrote.

Running it: :class:`CollectingWriter` keeps the messages of an in-process sync
as the JSON lines the real writer would print, :class:`Run` reads them, and
:func:`run_tap_cli` runs :data:`TAP`, the installed executable. Feeding it:
:func:`good_profile` is a valid profile and :func:`serve_as_is` makes the
emulator's list answer hold any value in its place. Checking it:
:func:`assert_records_match_schema`, :func:`schema_of`, :func:`log_lines`. The
pytest fixtures built on these live in tap-algolia/tests/conftest.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from singer_sdk.contrib.msgspec import serialize_jsonl
from singer_sdk.singerlib.encoding.base import GenericSingerWriter

if t.TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message

    from algolia_emulator import EmulatorServer

TAP = str(Path(sys.executable).with_name("tap-algolia"))
GOOD_STAMP = "2026-11-02T10:00:00.000000Z"


def run_tap_cli(
    config: dict[str, t.Any],
    tmp_path: Path,
    *args: str,
    state: dict[str, t.Any] | None = None,
    catalog: dict[str, t.Any] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run :data:`TAP` with ``args``, its config (and state, catalog) in ``tmp_path/tap-*.json``."""
    command = [TAP]
    for name, value in (("config", config), ("state", state), ("catalog", catalog)):
        if value is not None:
            path = tmp_path / f"tap-{name}.json"
            path.write_text(json.dumps(value))
            command += [f"--{name}", str(path)]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


class CollectingWriter(GenericSingerWriter):
    """Keeps every message as the JSON line the real writer would have printed."""

    def __init__(self) -> None:
        self.messages: list[dict[str, t.Any]] = []

    def serialize_message(self, message: Message) -> bytes:
        return bytes(serialize_jsonl(message.to_dict()))

    def write_message(self, message: Message) -> None:
        self.messages.append(json.loads(self.serialize_message(message)))


@dataclass
class Run:
    messages: list[dict[str, t.Any]] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def records(self) -> list[dict[str, t.Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD"]

    @property
    def states(self) -> list[dict[str, t.Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, t.Any]:
        return self.states[-1]

    @property
    def bookmark(self) -> str:
        return str(self.final_state["bookmarks"]["users"]["replication_key_value"])

    def by_id(self) -> dict[str, dict[str, t.Any]]:
        return {r["userID"]: r for r in self.records}


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def run(self) -> Run:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        return Run(messages=[json.loads(line) for line in lines])


@dataclass
class InterruptedRun(CliRun):
    #: Seconds from the signal to the tap's exit.
    stopped_after: float


def interrupt_while_paging(
    command: list[str], server: EmulatorServer, signum: int, *, after_calls: int = 3
) -> InterruptedRun:
    """Start the tap with ``command``, send ``signum`` once the emulator has
    answered ``after_calls`` calls (the tap is paging), and wait for its exit."""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        deadline = time.monotonic() + 30
        while server.admin.stats()["total"] < after_calls and proc.poll() is None:
            assert time.monotonic() < deadline, "the tap never started paging"
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signum)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=30)
        stopped_after = time.monotonic() - sent
    return InterruptedRun(proc.returncode, out, err, stopped_after)


def config_for(server: EmulatorServer, **extra: t.Any) -> dict[str, t.Any]:
    return {"app_id": server.app_id, "api_key": server.api_key, "api_url": server.url, **extra}


# Crafted answers ------------------------------------------------------------------


def good_profile(user_id: str) -> dict[str, t.Any]:
    return {
        "userID": user_id,
        "type": "basic",
        "lastUpdatedAt": GOOD_STAMP,
        "affinities": [
            {
                "name": "brand",
                "value": "Nike",
                "score": 3,
                "indices": ["products"],
                "lastUpdatedAt": GOOD_STAMP,
            }
        ],
        "segments": [{"id": "vip", "source": "crm"}],
    }


def serve_as_is(server: EmulatorServer, slot: str, body: t.Any) -> None:
    """Make ``GET /2/users`` answer ``body`` (a value, or raw bytes) in ``slot``'s place.

    White-box: the emulator's admin API refuses profiles it could not serve
    (by design), so a valid placeholder is stored and its serialized form,
    the bytes the list endpoint sends, is replaced. Time filters still see
    the placeholder's ``lastUpdatedAt``.
    """
    store = server.emulator.store
    store.upsert({**good_profile(slot), "lastUpdatedAt": GOOD_STAMP})
    with store.lock:
        store._records[slot].blob = body if isinstance(body, bytes) else json.dumps(body).encode()


# Checking the output --------------------------------------------------------------


def schema_of(messages: list[dict[str, t.Any]], stream: str = "users") -> dict[str, t.Any]:
    schemas = [m["schema"] for m in messages if m["type"] == "SCHEMA" and m["stream"] == stream]
    assert len(schemas) == 1, schemas
    return t.cast("dict[str, t.Any]", schemas[0])


def assert_records_match_schema(messages: list[dict[str, t.Any]]) -> int:
    """Every RECORD is valid against the SCHEMA of its stream (formats included)."""
    checker = FormatChecker()
    assert "date-time" in checker.checkers  # else formats would pass unchecked
    validators: dict[str, Draft202012Validator] = {}
    count = 0
    for message in messages:
        if message["type"] == "SCHEMA":
            validators[message["stream"]] = Draft202012Validator(
                message["schema"], format_checker=checker
            )
        elif message["type"] == "RECORD":
            errors = list(validators[message["stream"]].iter_errors(message["record"]))
            assert not errors, (message["record"], [e.message for e in errors])
            count += 1
    return count


def log_lines(stderr: str, text: str) -> list[str]:
    return [line for line in stderr.splitlines() if text in line]
