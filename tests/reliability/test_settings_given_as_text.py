"""Number and boolean settings given as text, as Meltano passes them, through each CLI.

Meltano declares them `kind: string` and hands over what the user wrote, so a
config file can hold `"dry_run": "yes"` or `"page_size": "2"`. Each plugin reads
such text by one rule (algolia_api.settings), before any API call: the words of
a boolean, the digits of a number. A dry run spelled `nope` is refused in one
line, never read as "false" (a real export); so is a number that is not one.
Over real HTTP against the emulator.
"""

from __future__ import annotations

import os
import subprocess
import typing as t

from algolia_testkit import reliability as kit
from algolia_testkit import target_runs as tk

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer


def test_the_target_reads_numbers_and_booleans_written_as_text(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    tk.put_user(emu, "u1", [("vip", "crm")])
    config = kit.target_config(
        emu, dry_run="Yes", max_wait_seconds="0.5", concurrency="2", max_rejected_fraction="1"
    )
    run = kit.run_target(config, [tk.schema(), tk.event("u1", "new"), tk.state(1)], tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "writes_planned=1 (dry run)" in run.stderr
    assert emu.admin.stats()["userPuts"] == {}
    assert tk.segments_of(emu, "u1") == [("vip", "crm")]


def test_a_dry_run_that_is_not_a_boolean_is_refused_before_any_call(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    tk.put_user(emu, "u1", [("vip", "crm")])
    config = kit.target_config(emu, dry_run="nope", concurrency="8.5")
    run = kit.run_target(config, [tk.schema(), tk.event("u1", "new"), tk.state(1)], tmp_path)

    line = kit.assert_clean_failure(
        run.returncode,
        run.stderr,
        "dry_run must be true or false (also yes/no, on/off, 1/0), not 'nope'",
        "concurrency must be a whole number such as 100, not '8.5'",
    )
    assert "Invalid configuration" in line
    assert run.states_seen == []
    assert emu.admin.stats()["total"] == 0


def test_the_target_refuses_a_typo_in_a_variable_with_config_env(emu: EmulatorServer) -> None:
    # singer-sdk's own --config ENV reading takes any unknown word for false.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TARGET_ALGOLIA_")},
        "TARGET_ALGOLIA_APP_ID": emu.app_id,
        "TARGET_ALGOLIA_API_KEY": kit.SECRET,
        "TARGET_ALGOLIA_API_URL": emu.url,
        "TARGET_ALGOLIA_DRY_RUN": "nope",
    }
    done = subprocess.run(
        [kit.TARGET, "--config", "ENV", "--test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    kit.assert_clean_failure(done.returncode, done.stderr, "dry_run must be true or false")
    assert emu.admin.stats()["total"] == 0


def test_the_tap_reads_an_integer_written_as_text_and_refuses_one_that_is_not(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    for index in range(5):
        tk.put_user(emu, f"u{index}", [])
    run = kit.run_tap(kit.tap_config(emu, page_size="2", flattening_enabled="no"), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert sum(1 for m in run.messages if m["type"] == "RECORD") == 5
    assert emu.admin.stats()["byRoute"]["GET /2/users"] == 3  # 2 profiles a page

    emu.admin.reset_stats()
    bad = kit.run_tap(kit.tap_config(emu, page_size="2.5"), tmp_path)
    kit.assert_clean_failure(
        bad.returncode, bad.stderr, "page_size must be a whole number such as 100, not '2.5'"
    )
    assert bad.stdout == ""
    assert emu.admin.stats()["total"] == 0
