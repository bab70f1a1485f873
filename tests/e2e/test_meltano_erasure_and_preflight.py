"""Through Meltano: `meltano test target-algolia` (the preflight command of meltano.yml)
and the erase-profiles job (tap-erasure-requests -> target-algolia--erasure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_meltano_test_runs_the_preflight_without_writing(meltano, emulator_factory):
    emulator = emulator_factory(users=20, seed=42)
    env = {"TARGET_ALGOLIA_API_URL": emulator.url}
    good = meltano("test", "target-algolia", env=env)
    assert "OK: " in good.stdout + good.stderr
    assert "20 profiles read" in good.stdout + good.stderr
    assert emulator.admin.stats()["byRoute"] == {"GET /2/users": 1}

    bad = meltano("test", "target-algolia", env={**env, "TARGET_ALGOLIA_API_KEY": "x"}, check=False)
    assert bad.returncode != 0
    assert "401 from Algolia" in bad.stdout + bad.stderr
    assert "check the application ID, the API key's ACLs" in bad.stdout + bad.stderr


def test_erase_profiles_job_deletes_the_requested_profiles(
    meltano, emulator_factory, tmp_path: Path
):
    emulator = emulator_factory(users=30, seed=42)
    doomed = sorted(u for u in emulator.emulator.store.all_user_ids() if u.startswith("user-"))[:2]
    requests = tmp_path / "erasure_requests.jsonl"
    requests.write_text("".join(json.dumps({"algolia_user_id": u}) + "\n" for u in doomed))
    env = {"TARGET_ALGOLIA_API_URL": emulator.url, "TAP_ERASURE_REQUESTS_PATH": str(requests)}

    first = meltano("run", "erase-profiles", env=env)
    assert all(emulator.admin.get_user(u) is None for u in doomed)
    assert len(emulator.emulator.store) == 28
    assert "erasure={erased:2,already_gone:0,deleted_until:" in first.stdout + first.stderr
    assert emulator.admin.stats()["byRoute"]["DELETE /2/users/{userID}"] == 2

    # STATE came after the erasure; tap-jsonl's bookmark is the file's mtime,
    # compared inclusively, so an unchanged file is read again: a replayed
    # request repeats a DELETE, which is harmless.
    state = meltano.state("dev:tap-erasure-requests-to-target-algolia--erasure")
    assert state["singer_state"]["bookmarks"]["erasure_requests"]
    again = meltano("run", "erase-profiles", env=env)
    assert "erasure={erased:2" in again.stdout + again.stderr
    assert len(emulator.emulator.store) == 28
