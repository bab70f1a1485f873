"""``request_timeout`` bounds a whole request: an answer dripped a byte at a time
(body or headers) is cut at the timeout and retried, then fails in one line;
a slow answer that arrives within the timeout is read.

Both plugins' commands run against a server on 127.0.0.1 that drips its
answers (``algolia_testkit.hostile.Answer.drip_bytes``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit.hostile import Answer, HostileServer
from algolia_testkit.reliability import (
    EMPTY_PAGE,
    ONE_EVENT,
    PROFILE,
    hostile_tap_config,
    hostile_target_config,
)


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body dripped", "headers dripped"])
@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_a_dripped_answer_cannot_outlast_request_timeout(
    plugin: str, drip_headers: bool, tmp_path: Path
) -> None:
    # 2,000 bytes at 1 byte per 0.1 s: 200 s per answer, each read well within 1 s.
    body = (EMPTY_PAGE if plugin == "tap" else PROFILE) + b" " * 2000
    answer = Answer(body=body, drip_bytes=1, drip_seconds=0.1, drip_headers=drip_headers)
    with HostileServer(lambda *_: answer) as server:
        if plugin == "tap":
            run = kit.run_tap(
                hostile_tap_config(server, request_timeout=1, max_retries=1), tmp_path
            )
        else:
            config = hostile_target_config(server, request_timeout=1, max_retries=1)
            run = kit.run_target(config, ONE_EVENT, tmp_path)
        calls = len(server.seen)
    elapsed = run.ended - run.started
    path = "/2/users" if plugin == "tap" else "/2/users/u1"
    kit.assert_clean_failure(
        run.returncode, run.stderr, "Algolia did not answer in time after all retries", path
    )
    assert calls == 2  # the first try and one retry, each cut at 1 s
    # Two requests of 1 s, one backoff of at most 0.5 s, and the CLI's start-up.
    assert elapsed < 12, elapsed
    assert "Retrying" in run.stderr


def test_a_slow_but_steady_answer_within_the_timeout_is_read(tmp_path: Path) -> None:
    answer = Answer(body=EMPTY_PAGE, drip_bytes=8, drip_seconds=0.05)  # about 0.25 s in all
    with HostileServer(lambda *_: answer) as server:
        run = kit.run_tap(hostile_tap_config(server, request_timeout=3, max_retries=0), tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [m["type"] for m in run.messages].count("STATE") >= 1
