"""singer-sdk's built-in tap test suite, against a real emulator over HTTP."""

from __future__ import annotations

import typing as t

import pytest
from singer_sdk.testing import get_tap_test_class

from algolia_emulator import EmulatorServer
from tap_algolia.tap import TapAlgolia

# The suite's config is fixed when the class is built, so the emulator starts
# now: its port is held from the moment the config names it (a port only
# picked here could be taken by another process before the first test runs).
SERVER = EmulatorServer(users=40, seed=7).start()
SAMPLE_CONFIG = {
    "app_id": "EMULATORAPP",
    "api_key": "emulator-api-key",
    "api_url": SERVER.url,
    "page_size": 7,
}


@pytest.fixture(scope="module", autouse=True)
def emulator_for_suite() -> t.Iterator[EmulatorServer]:
    yield SERVER
    SERVER.stop()


TestTapAlgolia = get_tap_test_class(tap_class=TapAlgolia, config=SAMPLE_CONFIG)
