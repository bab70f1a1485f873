"""Helpers for tap-algolia tests: run the tap in-process or as a CLI, collect its messages."""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from singer_sdk.contrib.msgspec import serialize_jsonl
from singer_sdk.singerlib.encoding.base import GenericSingerWriter

from tap_algolia.client import AlgoliaStream
from tap_algolia.tap import TapAlgolia

if t.TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message

    from algolia_emulator import EmulatorServer

TAP = str(Path(sys.executable).with_name("tap-algolia"))


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


def config_for(server: EmulatorServer, **extra: t.Any) -> dict[str, t.Any]:
    return {"app_id": server.app_id, "api_key": server.api_key, "api_url": server.url, **extra}


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry after milliseconds instead of half a second (production policy otherwise)."""
    monkeypatch.setattr(AlgoliaStream, "retry_base_delay", 0.01)


@pytest.fixture
def run_tap() -> t.Callable[..., Run]:
    """Run one sync in-process; returns every Singer message it emitted."""

    def run(
        config: dict[str, t.Any],
        state: dict[str, t.Any] | None = None,
        catalog: dict[str, t.Any] | None = None,
        *,
        raise_errors: bool = True,
    ) -> Run:
        writer = CollectingWriter()
        tap = TapAlgolia(config=config, state=state, catalog=catalog, message_writer=writer)
        result = Run(messages=writer.messages)
        try:
            tap.sync_all()
        except Exception as exc:
            if raise_errors:
                raise
            result.error = exc
        finally:
            tap.session.close()
        return result

    return run


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def run(self) -> Run:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        return Run(messages=[json.loads(line) for line in lines])


@pytest.fixture
def run_cli(tmp_path: Path) -> t.Callable[..., CliRun]:
    """Run the ``tap-algolia`` executable with a config (and state/catalog) file."""

    def run(
        config: dict[str, t.Any],
        *args: str,
        state: dict[str, t.Any] | None = None,
        catalog: dict[str, t.Any] | None = None,
        timeout: float = 60,
    ) -> CliRun:
        command = [TAP]
        for name, value in (("config", config), ("state", state), ("catalog", catalog)):
            if value is not None:
                path = tmp_path / f"{name}.json"
                path.write_text(json.dumps(value))
                command += [f"--{name}", str(path)]
        done = subprocess.run(
            [*command, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        return CliRun(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def emulator_config() -> t.Callable[..., dict[str, t.Any]]:
    return config_for
