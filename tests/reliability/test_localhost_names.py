"""An ``http://`` URL on a ``*.localhost`` name counts as loopback only if the
name resolves only to loopback addresses; otherwise both plugins refuse it in
one line. Runs the installed ``tap-algolia`` / ``target-algolia`` command.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit.reliability import ONE_EVENT


@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_a_localhost_name_that_does_not_resolve_to_loopback_is_refused(
    plugin: str, tmp_path: Path
) -> None:
    import socket

    host = "no-such-name-c20.localhost"
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        resolved = set()
    if resolved and all(a.startswith("127.") or a == "::1" for a in resolved):
        pytest.skip(f"this host's resolver maps {host} to loopback ({resolved})")
    config = {"app_id": "APP", "api_key": kit.SECRET, "api_url": f"http://{host}:9"}
    if plugin == "tap":
        run = kit.run_tap(config, tmp_path)
    else:
        run = kit.run_target(config, ONE_EVENT, tmp_path)
    kit.assert_clean_failure(
        run.returncode, run.stderr, "plain http", "resolves only to loopback addresses"
    )
