"""bench.overwrite_window measures what docs/target/writes.md says about the GET-to-PUT window.

No timings asserted: the order of calls at the emulator is what that page's
explanation rests on. With one worker, nothing reaches the emulator between a
user's GET and its PUT (the window is one round trip); with several, the other
workers' calls queue in between (the window grows with concurrency).
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import run_bench


def window(*args: str) -> dict[str, Any]:
    proc = run_bench("bench.overwrite_window", *args, timeout=120)
    return json.loads(proc.stdout.splitlines()[-1])


def test_one_worker_puts_right_after_its_get_and_more_workers_interleave() -> None:
    alone = window("--users", "8", "--concurrency", "1", "--budget", "100000")
    assert alone["written"] == 8
    assert alone["calls_between_max"] == 0
    assert 0 <= alone["median"] <= alone["max"]

    shared = window(
        "--users", "16", "--concurrency", "4", "--budget", "100000", "--latency-ms", "20"
    )
    assert shared["written"] == 16
    assert shared["calls_between_max"] > 0
