"""The floor: a bare ``requests`` loop over GET /2/users printing Singer RECORD lines.

It prints what tap-algolia prints for the ``users`` stream with every field
selected: one SCHEMA line, then per profile a RECORD whose record holds the API
fields (``userID``, ``lastUpdatedAt``, ``type``, ``affinities``, ``segments``;
timestamps rewritten to the canonical fixed-width UTC form by the same
function the tap uses) and the nine ``algolia_*`` profile fields, then one
STATE line. Differences from the tap's output: the SCHEMA line is a stub,
``time_extracted`` is stamped once per page instead of once per record, and
the STATE bookmark is the newest ``lastUpdatedAt`` seen rather than the
tap's window end. The RECORD lines are otherwise byte-identical (checked by
tests/test_bench_smoke.py). It does no schema validation, no type conformance, no stream maps,
no metrics and no pacing: that is the work a Python client of this API cannot
avoid (HTTP, JSON decode, per-record shaping, JSON encode, write).

Usage: python bench/floor.py --config cfg.json   (same config file as the tap)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from algolia_api.timestamps import canonical_timestamp

_decode: Callable[[bytes], Any]

try:  # the same JSON library singer-sdk[msgspec] uses, when present
    import msgspec

    _decode = msgspec.json.decode
    _encode = msgspec.json.Encoder().encode
    JSON_LIBRARY = "msgspec"
except ImportError:  # pragma: no cover - stdlib fallback
    _decode = json.loads

    def _encode(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    JSON_LIBRARY = "json"


def shape(user: dict[str, Any]) -> dict[str, Any]:
    """The tap's record for one profile (same fields, same order)."""
    updated = canonical_timestamp(user["lastUpdatedAt"])
    affinities = user.get("affinities") or []
    segments = user.get("segments") or []
    by_name: dict[str, Any] = {}
    by_value: dict[str, Any] = {}
    for affinity in affinities:
        affinity["lastUpdatedAt"] = canonical_timestamp(affinity["lastUpdatedAt"])
        score = affinity.get("score")
        name, value = affinity.get("name"), affinity.get("value")
        if name is not None and (by_name.get(name) is None or score > by_name[name]):
            by_name[name] = score
        if value is not None and (by_value.get(value) is None or score > by_value[value]):
            by_value[value] = score
    return {
        "userID": user["userID"],
        "lastUpdatedAt": updated,
        "type": user.get("type"),
        "affinities": affinities,
        "segments": segments,
        "algolia_user_id": user["userID"],
        "algolia_user_type": user.get("type"),
        "algolia_affinities_name": list(by_name),
        "algolia_affinities_value": list(by_value),
        "algolia_affinities_name_score": by_name,
        "algolia_affinities_value_score": by_value,
        "algolia_segment_ids": [segment.get("id") for segment in segments],
        "algolia_segment_sources": [segment.get("source") for segment in segments],
        "algolia_last_updated": updated,
    }


def run(config: dict[str, Any], out: Any) -> int:
    session = requests.Session()
    session.headers.update(
        {
            "x-algolia-application-id": config["app_id"],
            "x-algolia-api-key": config["api_key"],
            "Accept": "application/json",
        }
    )
    url = config["api_url"].rstrip("/") + "/2/users"
    page_size = int(config.get("page_size") or 1000)
    schema = {"type": "SCHEMA", "stream": "users", "schema": {"type": "object"}}
    out.write(_encode(schema) + b"\n")
    params: dict[str, Any] = {"limit": page_size}
    count = 0
    latest = ""
    while True:
        response = session.get(url, params=params, timeout=60)
        response.raise_for_status()
        page = _decode(response.content)
        extracted = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines = []
        for user in page["users"]:
            record = shape(user)
            latest = max(latest, record["lastUpdatedAt"])
            message = {
                "type": "RECORD",
                "stream": "users",
                "record": record,
                "time_extracted": extracted,
            }
            lines.append(_encode(message))
        if lines:
            out.write(b"\n".join(lines) + b"\n")
        count += len(lines)
        token = page.get("nextPageToken")
        if not token:
            break
        params = {"limit": page_size, "nextPageToken": token}
    state = {"bookmarks": {"users": {"replication_key_value": latest}}}
    out.write(_encode({"type": "STATE", "value": state}) + b"\n")
    out.flush()
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    count = run(config, sys.stdout.buffer)
    print(f"floor: {count} records ({JSON_LIBRARY})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
