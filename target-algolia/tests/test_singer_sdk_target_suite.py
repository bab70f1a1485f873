"""singer-sdk's built-in target test suite, against a real emulator over HTTP.

The suite's files are generic tables (``id``, ``metric``, ...), not audiences,
so the suite config carries a stream map that turns every record of every
stream into an ``enter`` event for profile ``sdk-<id>``: the records go through
the GET/merge/PUT path, not only the reject path. Profiles ``sdk-1`` to
``sdk-9`` exist; other IDs are rejected as missing profiles, as in production.
"""

from __future__ import annotations

import typing as t

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing import target_tests as sdk
from singer_sdk.testing.runners import TargetTestRunner
from singer_sdk.testing.suites import TestSuite as SDKTestSuite  # not collected as a test

from algolia_emulator import EmulatorServer
from target_algolia.target import TargetAlgolia

SEGMENT = "sdk-suite"
PROFILES = [f"sdk-{n}" for n in range(1, 10)]


# The suite's config is fixed when the class is built, so the emulator starts
# now: its port is held from the moment the config names it (a port only
# picked here could be taken by another process before the first test runs).
SERVER = EmulatorServer(users=0, rate_limit=100_000).start()
SAMPLE_CONFIG: dict[str, t.Any] = {
    "app_id": "EMULATORAPP",
    "api_key": "emulator-api-key",
    "api_url": SERVER.url,
    "max_requests_per_minute": 100_000,
    "summary_interval_seconds": 0,
    # Some SDK test streams name only users the emulator has no profile for, so
    # such a run applies nothing, which fails below a bound of 1 (rejected_share).
    "max_rejected_fraction": 1,
    "stream_maps": {
        "*": {
            "algolia_user_id": (
                "'sdk-' + str(record.get('id', record.get('Id', record.get('_id', 'none'))))"
            ),
            "segment": f"'{SEGMENT}'",
            "event": "'enter'",
        }
    },
}

# The SDK's target tests that apply to a target that only merges segments into
# existing profiles. Left out, one line each:
SUITE = SDKTestSuite(
    kind="target",
    tests=[
        sdk.TargetArrayData,
        sdk.TargetCamelcaseComplexSchema,
        sdk.TargetCamelcaseTest,
        sdk.TargetCliPrintsTest,
        sdk.TargetDuplicateRecords,
        sdk.TargetEncodedStringData,
        sdk.TargetInvalidSchemaTest,
        # TargetMultipleStateMessages: STATE is emitted once the batch before it is
        #   written, not at every input STATE (and 0.54.9 compares dicts to strings).
        sdk.TargetNoPrimaryKeys,
        sdk.TargetOptionalAttributes,
        sdk.TargetRecordBeforeSchemaTest,
        # TargetRecordMissingKeyProperty: expects the run to fail; key_properties
        #   mean nothing to a merge, the record is checked by its own fields.
        sdk.TargetRecordMissingRequiredProperty,
        sdk.TargetSchemaNoProperties,
        sdk.TargetSchemaUpdates,
        sdk.TargetPrimaryKeyUpdates,
        sdk.TargetSpecialCharsInAttributes,
        sdk.TargetRecordMissingOptionalFields,
    ],
)


@pytest.fixture(scope="module")
def emulator_for_suite() -> t.Iterator[EmulatorServer]:
    for user_id in PROFILES:
        SERVER.admin.upsert_user(
            {"userID": user_id, "lastUpdatedAt": "2026-10-01T00:00:00Z", "segments": []}
        )
    yield SERVER
    SERVER.stop()


@pytest.fixture(autouse=True)
def _emulator_running(emulator_for_suite: EmulatorServer) -> None:
    """Every test of this module talks to the emulator."""


TestTargetAlgolia = get_target_test_class(
    target_class=TargetAlgolia,
    config=SAMPLE_CONFIG,
    custom_suites=[SUITE],
    include_target_tests=False,
)


def test_suite_config_writes_segments(emulator_for_suite: EmulatorServer) -> None:
    """The suite's records reach Algolia: its stream map makes them audience events."""
    runner = TargetTestRunner(
        TargetAlgolia,
        config=SAMPLE_CONFIG,
        input_filepath=sdk.TargetArrayData().singer_filepath,
    )
    runner.sync_all()
    for user_id in ("sdk-1", "sdk-2", "sdk-3", "sdk-4"):
        user = emulator_for_suite.admin.get_user(user_id)
        assert user is not None
        assert {"id": SEGMENT, "source": "meltano"} in [
            {"id": s["id"], "source": s["source"]} for s in user["segments"]
        ], user
