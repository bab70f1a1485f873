"""The rejects file and the run summary through the CLI: a rejects_path that cannot be
written fails before any call, `~` is the home directory, and calls per minute is a
real count.
"""

from __future__ import annotations

import json
import os
import subprocess
import typing as t

import pytest

from algolia_testkit.reliability import error_lines
from algolia_testkit.target_runs import (
    CLI,
    base_config,
    event,
    put_user,
    run_cli,
    schema,
    state,
    summary_fields,
    to_lines,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer


@pytest.mark.parametrize("case", ["a directory", "inside a file"])
def test_an_unwritable_rejects_path_fails_in_one_line_before_any_call(
    emu: EmulatorServer, tmp_path: Path, case: str
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    path = {"a directory": tmp_path, "inside a file": a_file / "rejects.jsonl"}[case]
    put_user(emu, "u1", [])
    messages = [schema(), event("u1", "vip"), state(1)]
    result = run_cli(base_config(emu, rejects_path=str(path)), messages, tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = error_lines(result.stderr)
    assert len(errors) == 1, errors or result.stderr[-2000:]
    assert f"rejects_path {str(path)!r} cannot be written" in errors[0]
    assert "set it to a file path" in errors[0]
    assert result.stdout == ""
    assert emu.admin.stats()["total"] == 0  # not even the credentials check


def test_a_tilde_in_rejects_path_is_the_home_directory(emu: EmulatorServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    config_path = work / "config.json"
    # Its only record is rejected: max_rejected_fraction=1 keeps the run from failing.
    config = base_config(emu, rejects_path="~/rejects/out.jsonl", max_rejected_fraction=1)
    config_path.write_text(json.dumps(config))
    result = subprocess.run(
        [CLI, "--config", str(config_path)],
        input=to_lines([schema(), event("bad id", "vip"), state(1)]),
        capture_output=True,
        text=True,
        cwd=work,
        env={**os.environ, "HOME": str(home)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = (home / "rejects" / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["record"]["algolia_user_id"] for line in lines] == ["bad id"]
    assert not (work / "~").exists()


def test_calls_per_minute_is_a_real_count_not_an_extrapolation(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    users = [f"u{i:02d}" for i in range(30)]
    for uid in users:
        put_user(emu, uid, [])
    messages = [schema(), *[event(uid, "vip") for uid in users], state(1)]
    result = run_cli(base_config(emu), messages, tmp_path)
    assert result.returncode == 0, result.stderr
    summary = summary_fields(result.stderr)
    # 30 GETs + 30 PUTs, all well inside one minute: the busiest minute saw
    # exactly those calls (the old extrapolation said thousands).
    assert summary["api_calls"] == "60"
    assert summary["calls_per_minute"] == "60"
