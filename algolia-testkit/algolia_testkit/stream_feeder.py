"""A live stream for the streaming tests: audience events at random intervals, never ending early.

Run as its own process, its stdout piped into target-algolia:

    python -m algolia_testkit.stream_feeder PLAN.json LOG.jsonl

It writes the SCHEMA at once, then waits for one line on its stdin (the test
says "go" once the target is up), then writes each planned message after its
delay, flushing every line, and logs ``{"n", "at"}`` (``time.time()`` just
after the write returned) for every event to LOG.jsonl. It closes its stdout
after the last message. :func:`plan` makes the schedule, so the test knows the
events in advance.
"""

from __future__ import annotations

import json
import random
import sys
import time
import typing as t

STREAM = "audience_events"
SEGMENT = "high_intent"


def user_of(n: int) -> str:
    return f"rt-{n:05d}"


def event_message(n: int) -> dict[str, t.Any]:
    """Event ``n``: even numbers enter the segment, odd numbers exit it."""
    kind = "enter" if n % 2 == 0 else "exit"
    record = {"algolia_user_id": user_of(n), "segment": SEGMENT, "event": kind}
    return {"type": "RECORD", "stream": STREAM, "record": record}


def plan(
    *,
    seed: int,
    duration: float,
    interval: tuple[float, float],
    quiet_every: tuple[int, int] = (0, 0),
    quiet: tuple[float, float] = (0.0, 0.0),
    state_share: float = 0.4,
) -> list[dict[str, t.Any]]:
    """``{"delay", "event"?, "state"?, "quiet_after"?}`` steps covering ``duration`` seconds.

    Events come ``interval`` seconds apart (uniform); after every
    ``quiet_every`` events (uniform) the input goes quiet for ``quiet``
    seconds, and the event before a quiet gap is always followed by a STATE.
    Other events are followed by a STATE with probability ``state_share``.
    """
    rng = random.Random(seed)
    steps: list[dict[str, t.Any]] = []
    elapsed = 0.0
    n = 0
    until_quiet = rng.randint(*quiet_every) if quiet_every[1] else -1
    delay = 0.0
    while elapsed < duration:
        step: dict[str, t.Any] = {"delay": delay, "event": n}
        until_quiet -= 1
        if until_quiet == 0:
            step["state"] = n
            step["quiet_after"] = True
            delay = rng.uniform(*quiet)
            until_quiet = rng.randint(*quiet_every)
        else:
            if rng.random() < state_share:
                step["state"] = n
            delay = rng.uniform(*interval)
        steps.append(step)
        elapsed += step["delay"]
        n += 1
    steps[-1]["state"] = steps[-1]["event"]
    return steps


def _write(message: dict[str, t.Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(plan_path: str, log_path: str) -> None:
    steps = json.loads(open(plan_path, encoding="utf-8").read())  # noqa: SIM115
    fields = event_message(0)["record"]
    properties = {name: {"type": "string"} for name in fields}
    _write(
        {
            "type": "SCHEMA",
            "stream": STREAM,
            "schema": {"type": "object", "properties": properties},
            "key_properties": [],
        }
    )
    sys.stdin.readline()  # "go"
    with open(log_path, "w", encoding="utf-8") as log:
        due = time.monotonic()
        for step in steps:
            due += step["delay"]
            time.sleep(max(0.0, due - time.monotonic()))
            _write(event_message(step["event"]))
            log.write(json.dumps({"n": step["event"], "at": time.time()}) + "\n")
            if "state" in step:
                _write({"type": "STATE", "value": {"bookmark": step["state"]}})
            log.flush()
    sys.stdout.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
