"""Helpers for the tap's hardening tests: hostile answers, schema checks, log lines.

Imported as ``tap_kit`` (conftest.py puts this folder on sys.path).
"""

from __future__ import annotations

import json
import typing as t

import reliability_kit as kit
from jsonschema import Draft202012Validator, FormatChecker

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

GOOD_STAMP = "2026-11-02T10:00:00.000000Z"


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


def discovered_catalog(config: dict[str, t.Any], tmp_path: Path) -> dict[str, t.Any]:
    """The catalog ``tap-algolia --discover`` prints for ``config``."""
    run = kit.run_tap(config, tmp_path, "--discover")
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
    return kit.write_json(tmp_path / "catalog.json", catalog)
