"""Input not sorted by user: the summary counts the users read in several batches (each
costs one more read).
"""

from __future__ import annotations

import typing as t

import pytest

from algolia_testkit.target_runs import (
    base_config,
    event,
    put_user,
    run_cli,
    schema,
    segments_of,
    state,
    summary_fields,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer


M = "meltano"


@pytest.mark.parametrize("order", ["unsorted", "grouped by user"])
def test_the_summary_counts_users_read_in_several_batches(
    emu: EmulatorServer, tmp_path: Path, order: str
) -> None:
    for uid in ("u0", "u1", "u2"):
        put_user(emu, uid, [])
    rows = [("u0", "a"), ("u1", "a"), ("u0", "b"), ("u1", "b"), ("u2", "a"), ("u0", "c")]
    if order == "grouped by user":
        rows.sort(key=lambda row: row[0])
    messages = [schema(), *[event(uid, slug) for uid, slug in rows], state(1)]
    result = run_cli(base_config(emu, batch_size_rows=2), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    summary = summary_fields(result.stderr)
    gets = sum(emu.admin.stats()["userGets"].values())
    # Every read beyond the first of a user is one the summary must own up to.
    assert int(summary["repeat_reads"]) == gets - 3
    if order == "unsorted":
        # Batches {u0, u1} {u0, u1} {u2, u0}: u0 and u1 are read again, u0 twice.
        assert gets == 6
        assert summary["users_in_several_batches"] == "2"
        assert summary["repeat_reads"] == "3"
    else:
        # Batches {u0} {u0, u1} {u1, u2}: users are split only at batch edges.
        assert gets == 5
        assert summary["users_in_several_batches"] == "2"
        assert summary["repeat_reads"] == "2"
    assert [segments_of(emu, uid) for uid in ("u0", "u1", "u2")] == [
        [("a", M), ("b", M), ("c", M)],
        [("a", M), ("b", M)],
        [("a", M)],
    ]
