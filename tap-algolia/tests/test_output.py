"""The RECORD fast path writes what singer-sdk's own path writes, and mappers still apply."""

from __future__ import annotations

import json
import typing as t

Runner = t.Callable[..., t.Any]


def _record_lines(stdout: str) -> list[dict[str, t.Any]]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return [line for line in lines if line["type"] == "RECORD"]


def test_fast_path_lines_equal_the_sdk_path_lines(
    emulator_factory: Runner, run_cli: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=40, seed=5)
    plain = run_cli(emulator_config(server, page_size=7))
    # An identity stream map forces singer-sdk's RecordMessage + mapper path.
    mapped = run_cli(emulator_config(server, page_size=7, stream_maps={"users": {}}))
    assert plain.returncode == 0, plain.stderr
    assert mapped.returncode == 0, mapped.stderr
    fast, sdk = _record_lines(plain.stdout), _record_lines(mapped.stdout)
    assert len(fast) == 40
    for a, b in zip(fast, sdk, strict=True):
        assert list(a) == list(b)  # same keys, same order
        assert a["record"] == b["record"]
        assert a["stream"] == b["stream"] == "users"
        assert a["time_extracted"].endswith("Z")
        assert b["time_extracted"].endswith("Z")


def test_stream_maps_still_transform_records(
    emulator_factory: Runner, run_cli: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=10, seed=5)
    config = emulator_config(
        server,
        stream_maps={"users": {"affinities": "__NULL__", "id_upper": "userID.upper()"}},
    )
    result = run_cli(config)
    assert result.returncode == 0, result.stderr
    records = [line["record"] for line in _record_lines(result.stdout)]
    assert len(records) == 10
    for record in records:
        assert "affinities" not in record
        assert record["id_upper"] == record["userID"].upper()


def test_flattening_still_applies(
    emulator_factory: Runner, run_cli: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=5, seed=5)
    result = run_cli(emulator_config(server, flattening_enabled=True, flattening_max_depth=1))
    assert result.returncode == 0, result.stderr
    record = _record_lines(result.stdout)[0]["record"]
    # Flattening writes nested lists as JSON text.
    assert isinstance(record["affinities"], str)
    assert isinstance(json.loads(record["affinities"]), list)
