"""A state file the tap cannot use (not JSON, the wrong shapes, a bookmark that is
no RFC 3339 timestamp) fails in one line that says how to fix it, before any
API call and with nothing on stdout. Runs the tap's executable against the emulator.
"""

from __future__ import annotations

import json
import subprocess
import typing as t
from pathlib import Path

import pytest

from algolia_testkit import reliability as kit

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer


BAD_STATES = {
    "not JSON": ("{bookmarks: users}", "The state file is not valid JSON"),
    "empty file": ("", "The state file is not valid JSON"),
    "bookmarks a string": ('{"bookmarks": "x"}', 'The state\'s "bookmarks" must be an object'),
    "a list": ("[]", "The state must be a JSON object"),
    "stream state a number": (
        '{"bookmarks": {"users": 7}}',
        'The state\'s bookmark for "users" must be an object',
    ),
    "bookmark not a timestamp": (
        json.dumps(
            {
                "bookmarks": {
                    "users": {"replication_key": "lastUpdatedAt", "replication_key_value": "abc"}
                }
            }
        ),
        "must be an RFC 3339 timestamp",
    ),
    "bookmark a number": (
        json.dumps(
            {
                "bookmarks": {
                    "users": {"replication_key": "lastUpdatedAt", "replication_key_value": 17}
                }
            }
        ),
        "must be an RFC 3339 timestamp",
    ),
    **{
        f"bookmark with the offset {offset}": (
            json.dumps(
                {
                    "bookmarks": {
                        "users": {
                            "replication_key": "lastUpdatedAt",
                            "replication_key_value": f"2026-11-02T10:00:00{offset}",
                        }
                    }
                }
            ),
            # The profile reader refuses the same offsets (test_tap_odd_answers).
            "must be an RFC 3339 timestamp",
        )
        for offset in ("+99:99", "+24:00", "-00:60")
    },
}


@pytest.mark.parametrize("case", list(BAD_STATES), ids=list(BAD_STATES))
def test_a_bad_state_file_is_one_line_before_any_api_call(
    case: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    text, expected = BAD_STATES[case]
    state_path = tmp_path / "bad-state.json"
    state_path.write_text(text)
    config = kit.write_json(tmp_path / "tap-config.json", kit.tap_config(emu))
    done = subprocess.run(
        [kit.TAP, "--config", str(config), "--state", str(state_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    kit.capture(done.stdout, done.stderr)
    line = kit.assert_clean_failure(done.returncode, done.stderr, expected)
    assert "meltano state clear" in line
    assert emu.admin.stats()["total"] == 0
    assert done.stdout == ""
