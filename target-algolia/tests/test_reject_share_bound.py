"""max_rejected_fraction through the CLI: a run whose input is mostly unusable fails.

The valid records are written all the same; no STATE is emitted while the
share of rejected records is over the bound, so the next run reads the input
again; one line names the setting.
"""

from __future__ import annotations

import json
import typing as t

import pytest

from algolia_testkit.target_runs import (
    base_config,
    event,
    put_user,
    record,
    run_cli,
    schema,
    segments_of,
    state,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"


def states(stdout: str) -> list[t.Any]:
    return [json.loads(line)["bookmark"] for line in stdout.splitlines() if line.strip()]


def failure_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "max_rejected_fraction" in line]


def test_a_run_in_which_every_record_is_rejected_fails_with_one_line(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """tap-csv with the user ID column mapped wrongly: every record lacks the ID."""
    put_user(emu, "u1", [])
    messages = [
        schema("members"),
        *[
            record({"user_id": f"u{n}", "segment": "vip", "event": "enter"}, "members")
            for n in range(30)
        ],
        state(30),
    ]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode != 0
    assert states(result.stdout) == []
    (line,) = failure_lines(result.stderr)
    assert "Run failed: 30 of 30 records were rejected (100%: invalid_user_id 30)" in line
    assert "more than max_rejected_fraction=0.5" in line
    assert "Traceback" not in result.stderr
    assert "Run summary records=30" in result.stderr  # the summary still comes first
    assert emu.admin.stats()["userPuts"] == {}


def test_past_the_bound_the_valid_records_are_written_and_no_state_is_emitted(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "good", [])
    messages = [
        schema(),
        event("good", "vip"),
        event("bad id", "vip"),
        event("good", "x", "joined"),
        event("", "vip"),
        state(4),
    ]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode != 0
    assert segments_of(emu, "good") == [("vip", M)]
    assert states(result.stdout) == []
    (line,) = failure_lines(result.stderr)
    assert "3 of 4 records were rejected (75%: invalid_user_id 2, unknown_event 1)" in line

    # Fixed upstream, the same input is read again: the valid record changes nothing.
    messages = [schema(), event("good", "vip"), event("good", "x"), state(4)]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert segments_of(emu, "good") == [("vip", M), ("x", M)]
    assert states(result.stdout) == [4]


@pytest.mark.parametrize(
    ("bound", "rejected", "fails"),
    [
        (0.5, 2, False),  # 2 of 4: not more than half
        (0.5, 3, True),
        (0.0, 1, True),  # 0: any rejected record fails the run
        (0.0, 0, False),
        (1.0, 4, False),  # 1: never, even when every record is rejected
        (0.25, 1, False),
        (0.25, 2, True),
    ],
)
def test_the_bound_is_a_share_of_the_records_read(
    emu: EmulatorServer, tmp_path: Path, bound: float, rejected: int, fails: bool
) -> None:
    put_user(emu, "good", [])
    messages = [
        schema(),
        *[event(f"bad id {n}", "vip") for n in range(rejected)],
        *[event("good", f"s{n}") for n in range(4 - rejected)],
        state(1),
    ]
    result = run_cli(base_config(emu, max_rejected_fraction=bound), messages, tmp_path)
    assert (result.returncode != 0) is fails, result.stderr
    assert states(result.stdout) == ([] if fails else [1])
    assert len(failure_lines(result.stderr)) == int(fails)


def test_a_run_with_no_records_does_not_fail(emu: EmulatorServer, tmp_path: Path) -> None:
    result = run_cli(base_config(emu, max_rejected_fraction=0), [schema(), state(9)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert states(result.stdout) == [9]


def test_state_is_held_while_the_share_so_far_is_over_the_bound(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """Batches of 2 records to write: after the first, 3 of 5 records are rejected and
    its STATE is held; after the second, 3 of 7, and the STATE then is emitted."""
    put_user(emu, "good", [])
    messages = [
        schema(),
        event("bad id", "a"),
        event("bad id", "b"),
        event("bad id", "c"),
        state(1),
        event("good", "d"),
        event("good", "e"),
        state(2),
        event("good", "f"),
        event("good", "g"),
        state(3),
    ]
    result = run_cli(base_config(emu, batch_size_rows=2), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert states(result.stdout) == [2, 3]
    assert segments_of(emu, "good") == [("d", M), ("e", M), ("f", M), ("g", M)]


def test_a_run_that_applied_nothing_fails_even_under_the_bound(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """Every record names a user with no profile (a user ID column mapped to the
    wrong field): nothing is rejected, nothing is written, and the run must not
    show green. No STATE, so the next run reads the input again."""
    put_user(emu, "someone-else", [("crm-segment", "crm")])
    messages = [
        schema(),
        event("crm-1001", "vip"),
        event("crm-1002", "vip"),
        state(1),
    ]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode != 0, result.stderr
    lines = failure_lines(result.stderr)
    assert len(lines) == 1
    assert "none of its 2 records could be applied" in lines[0]
    assert "user_id_field" in lines[0]
    assert states(result.stdout) == []
    assert segments_of(emu, "someone-else") == [("crm-segment", "crm")]


def test_a_run_that_applied_something_passes_though_some_users_have_no_profile(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "good", [])
    messages = [
        schema(),
        event("good", "vip"),
        event("missing", "vip"),
        event("gone", "vip"),
        state(1),
    ]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert states(result.stdout) == [1]


def test_a_bound_of_one_also_lets_a_run_that_applied_nothing_pass(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    messages = [schema(), event("missing", "vip"), state(1)]
    result = run_cli(base_config(emu, max_rejected_fraction=1), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    assert states(result.stdout) == [1]
