"""A first stop signal that lands while the main thread holds a lock the workers need still ends
the run: the drain it asks for is done at a safe point, never inside the handler.

The target runs in a child process (a hang there cannot take the test
process with it). A log handler on the target's logger sends SIGTERM to the
main thread from inside its own ``emit``, so Python runs the target's
signal handler while the main thread holds that log handler's lock; the
workers of the batch then log a skipped user through the same handler.
Draining from inside the signal handler waited on those workers for ever;
this is how a CI run hung for 240 s after "Target sink ... is full".
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import typing as t

import pytest

from algolia_testkit.target_runs import base_config, event, put_user, schema, state, to_lines

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

CHILD = r"""
import json, logging, signal, sys, threading
from target_algolia.target import TargetAlgolia

TRIGGER = sys.argv[2]

class SignalInsideEmit(logging.StreamHandler):
    def emit(self, record):
        super().emit(record)
        if TRIGGER in record.getMessage() and not getattr(self, "sent", False):
            self.sent = True
            signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
            # Python runs the signal handler at one of these bytecodes: inside
            # emit, with this handler's lock held.
            for _ in range(10_000):
                pass

target = TargetAlgolia(config=json.loads(sys.argv[1]))
target.logger.setLevel(logging.INFO)
target.logger.addHandler(SignalInsideEmit())
try:
    target.listen(sys.stdin)
except SystemExit as stop:
    sys.exit(stop.code)
"""

# Ghost users have no profile: each one's worker logs "Skipped user ...".
REAL = [f"real-{n}" for n in range(4)]
GHOSTS = [f"ghost-{n:02d}" for n in range(16)]


@pytest.mark.parametrize(
    "trigger",
    ["is full. Current size", "Skipped user"],
    ids=["as-a-full-batch-starts", "while-a-worker-logs"],
)
def test_a_sigterm_inside_a_log_call_ends_the_run_with_written_state_or_none(
    emu: EmulatorServer, tmp_path: Path, trigger: str
) -> None:
    for uid in REAL:
        put_user(emu, uid, [])
    users = [*REAL, *GHOSTS]
    # A STATE after the first batch, then a second batch of the same users.
    messages: list[dict] = [schema()]
    messages += [event(uid, "vip") for uid in users]
    messages += [state(1)]
    messages += [event(uid, "promo") for uid in users]
    messages += [state(2)]
    input_path = tmp_path / "input.jsonl"
    input_path.write_text(to_lines(messages))
    config = base_config(emu, batch_size_rows=len(users), concurrency=4, max_wait_seconds=3600)
    with input_path.open() as stdin:
        try:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, json.dumps(config), trigger],
                stdin=stdin,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except subprocess.TimeoutExpired as hung:
            err = hung.stderr.decode() if isinstance(hung.stderr, bytes) else hung.stderr
            pytest.fail(f"the target hung after the signal:\n{err!s:.4000}")
    assert done.returncode == 128 + signal.SIGTERM, done.stderr[-4000:]
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    assert "Received signal 15" in done.stderr, done.stderr[-4000:]
    states = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    written = {uid: [s["id"] for s in emu.admin.get_user(uid)["segments"]] for uid in REAL}
    # A STATE leaves only once every profile its records cover is written.
    if {"bookmark": 1} in states:
        assert all("vip" in segments for segments in written.values()), written
    assert {"bookmark": 2} not in states or all(
        "promo" in segments for segments in written.values()
    ), written
