"""The tap's RECORD lines are stock singer-sdk's, byte for byte, and mappers still apply."""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import re
import typing as t
from functools import cached_property

import pytest
from singer_sdk import RESTStream, Tap
from typing_extensions import override

from tap_algolia.client import AlgoliaStream
from tap_algolia.message_writer import BufferedMsgSpecWriter
from tap_algolia.streams import UsersStream
from tap_algolia.tap import TapAlgolia

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream

    from algolia_emulator import EmulatorServer

Runner = t.Callable[..., t.Any]
# The one allowed difference: when, and how (msgspec writes Z, the stdlib +00:00).
TIME_EXTRACTED = re.compile(r'"time_extracted":"[^"]+"')


def _record_lines(stdout: str) -> list[dict[str, t.Any]]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return [line for line in lines if line["type"] == "RECORD"]


def _stock_users_stream() -> type[UsersStream]:
    """UsersStream with singer-sdk's own record path: every SDK internal it overrides put back.

    What is left of the tap is how it reads pages and builds each record (its
    public hooks); how records are selected, mapped, flattened, conformed and
    written is the SDK's, unchanged.
    """

    def is_method(value: object) -> bool:
        return inspect.isfunction(value) or isinstance(value, (property, cached_property))

    sdk_internals = {
        name
        for cls in RESTStream.__mro__
        if cls.__module__.startswith("singer_sdk")
        for name, value in vars(cls).items()
        if name.startswith("_") and not name.startswith("__") and is_method(value)
    }
    overridden = {
        name
        for cls in UsersStream.__mro__
        if cls.__module__.startswith("tap_algolia")
        for name in vars(cls)
    } & sdk_internals
    # The record path the fast path replaces; a rename must not leave it in place.
    assert {
        "_write_record_message",
        "_generate_record_messages",
        "_increment_stream_state",
        "_process_record",
    } <= overridden, overridden
    stock: dict[str, t.Any] = {
        name: inspect.getattr_static(RESTStream, name) for name in overridden
    }
    stock["TYPE_CONFORMANCE_LEVEL"] = RESTStream.TYPE_CONFORMANCE_LEVEL
    return type("StockUsersStream", (UsersStream,), stock)


class StockWriterTap(TapAlgolia):
    """The tap with singer-sdk's default message writer and the stock stream."""

    message_writer_class = inspect.getattr_static(Tap, "message_writer_class")

    def discover_streams(self) -> list[Stream]:
        return [_stock_users_stream()(self)]


def _record_bytes(tap_class: type[TapAlgolia], config: dict, catalog: dict | None) -> list[str]:
    """The RECORD lines one in-process sync writes to stdout, time_extracted blanked."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    with contextlib.redirect_stdout(out):
        tap = tap_class(config=config, catalog=catalog)
        try:
            tap.sync_all()
        finally:
            tap.session.close()
        if isinstance(tap.message_writer, BufferedMsgSpecWriter):
            tap.message_writer.flush()
        out.flush()
    lines = t.cast(io.BytesIO, out.buffer).getvalue().decode().splitlines()
    records = [line for line in lines if json.loads(line)["type"] == "RECORD"]
    blanked = [TIME_EXTRACTED.subn('"time_extracted":"-"', line) for line in records]
    assert all(count == 1 for _, count in blanked), "every RECORD has one time_extracted"
    return [line for line, _ in blanked]


def _nested_deselect(config: dict) -> dict:
    """The discovered catalog with one key of a nested object (a score map) deselected."""
    catalog = TapAlgolia(config=config).catalog_dict
    catalog["streams"][0]["metadata"].append(
        {
            "breadcrumb": ["properties", "algolia_affinities_name_score", "properties", "brand"],
            "metadata": {"selected": False},
        }
    )
    return catalog


CASES: dict[str, tuple[dict[str, t.Any], bool]] = {
    "default": ({}, False),
    "stream-map": (
        {"stream_maps": {"users": {"affinities": "__NULL__", "id_upper": "userID.upper()"}}},
        False,
    ),
    "flattening": ({"flattening_enabled": True, "flattening_max_depth": 1}, False),
    "nested-deselect": ({}, True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fast_path_records_equal_stock_singer_sdk_byte_for_byte(
    case: str, emulator_factory: t.Callable[..., EmulatorServer], emulator_config: Runner
) -> None:
    server = emulator_factory(users=40, seed=5)
    extra, deselect = CASES[case]
    config = emulator_config(server, page_size=7, **extra)
    catalog = _nested_deselect(config) if deselect else None
    fast = _record_bytes(TapAlgolia, config, catalog)
    stock = _record_bytes(StockWriterTap, config, catalog)
    assert len(fast) == 40
    assert fast == stock
    # The configuration took effect (so each case compares what it claims to).
    records = [json.loads(line)["record"] for line in fast]
    if case == "default":
        assert all("affinities" in r for r in records)
        assert all("algolia_affinities_name_score" in r for r in records)
    elif case == "stream-map":
        assert all(r["id_upper"] == r["userID"].upper() and "affinities" not in r for r in records)
    elif case == "flattening":
        assert all(isinstance(r["affinities"], str) for r in records)
    else:
        assert any(a["name"] == "brand" for r in records for a in r["affinities"])
        assert all("brand" not in r["algolia_affinities_name_score"] for r in records)


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


class UserDetailsStream(AlgoliaStream):
    """A child stream of users (one request per user), as a later version might add."""

    name = "user_details"
    path = "/2/users/{userID}"
    parent_stream_type = UsersStream
    schema: t.ClassVar[dict] = {"properties": {"userID": {"type": "string"}}}

    @override
    def get_child_context(self, record: dict, context: t.Any) -> dict:
        return {"userID": record["userID"]}


class PartitionedUsersStream(UsersStream):
    @property
    @override
    def partitions(self) -> list[dict]:
        return [{"region": "eu"}, {"region": "us"}]


class TapWith(TapAlgolia):
    """The tap with the given stream classes."""

    stream_classes: t.ClassVar[list[type[Stream]]] = []

    @override
    def discover_streams(self) -> list[Stream]:
        return [cls(self) for cls in self.stream_classes]


@pytest.mark.parametrize(
    ("streams", "what"),
    [([UsersStream, UserDetailsStream], "child streams"), ([PartitionedUsersStream], "partitions")],
    ids=["child-stream", "partitions"],
)
def test_the_record_shortcuts_refuse_a_stream_they_would_get_wrong(
    streams: list[type[Stream]],
    what: str,
    emulator_factory: t.Callable[..., EmulatorServer],
    emulator_config: Runner,
) -> None:
    """The skipped _process_record syncs child streams and copies partition keys: never silently."""
    server = emulator_factory(users=3, seed=5)
    tap_class = type("Tap", (TapWith,), {"stream_classes": streams})
    tap = tap_class(config=emulator_config(server))
    try:
        with pytest.raises(TypeError, match=f"'users' has {what}.*_process_record"):
            tap.sync_all()
    finally:
        tap.session.close()
    assert server.admin.stats()["total"] == 0
