"""singer-sdk's built-in tap test suite, against a real emulator over HTTP."""

from __future__ import annotations

import socket
import typing as t

import pytest
from singer_sdk.testing import get_tap_test_class

from algolia_emulator import EmulatorServer
from tap_algolia.tap import TapAlgolia


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The suite's config is fixed when the class is built, so the port is chosen
# now and the server is started (and stopped) by the module fixture below.
PORT = _free_port()
SAMPLE_CONFIG = {
    "app_id": "EMULATORAPP",
    "api_key": "emulator-api-key",
    "api_url": f"http://127.0.0.1:{PORT}",
    "page_size": 7,
}


@pytest.fixture(scope="module", autouse=True)
def emulator_for_suite() -> t.Iterator[EmulatorServer]:
    with EmulatorServer(users=40, seed=7, port=PORT) as server:
        yield server


TestTapAlgolia = get_tap_test_class(tap_class=TapAlgolia, config=SAMPLE_CONFIG)
