"""Mirror mode end to end: a PostgreSQL table of current members, read FULL_TABLE by
tap-postgres through `meltano run mirror-audiences` into target-algolia.

- rows deleted from the table lose their segments on the next run;
- a tap killed mid-stream removes nothing (the row count does not match);
- a table emptied by mistake trips the empty-audience guard.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

M = "meltano"
STREAM = "public-audience_members_mirror"

# The worked example of docs/target/mirror.md: the count is joined onto
# every row in the same snapshot, and onto one row of NULLs when the table is
# empty, so the target can tell a complete read from one cut short.
MEMBERS_TABLE = """
DROP VIEW IF EXISTS public.audience_members_mirror;
DROP TABLE IF EXISTS public.audience_members;
CREATE TABLE public.audience_members (
    algolia_user_id text NOT NULL,
    segment text NOT NULL,
    PRIMARY KEY (algolia_user_id, segment)
);
CREATE VIEW public.audience_members_mirror AS
SELECT m.algolia_user_id, m.segment, c.audience_rows
FROM (SELECT count(*) AS audience_rows FROM public.audience_members) AS c
LEFT JOIN public.audience_members AS m ON true;
"""


def segments(emulator: Any, user_id: str) -> list[tuple[str, str]]:
    user = emulator.admin.get_user(user_id)
    return [(s["id"], s["source"]) for s in user.get("segments") or []]


def load(emulator: Any, profiles: dict[str, list[tuple[str, str]]]) -> None:
    emulator.emulator.store.replace_all(
        {
            "userID": uid,
            "lastUpdatedAt": "2026-10-01T00:00:00Z",
            "segments": [{"id": i, "source": s} for i, s in segs],
        }
        for uid, segs in profiles.items()
    )


def env_for(postgres: Any, emulator: Any, tmp_path: Path) -> dict[str, str]:
    return {
        **postgres.env("TAP_POSTGRES"),
        "TARGET_ALGOLIA_API_URL": emulator.url,
        "TARGET_ALGOLIA_REJECTS_PATH": str(tmp_path / "rejects.jsonl"),
    }


@pytest.fixture
def app(emulator_factory: Any) -> Any:
    emulator = emulator_factory(users=0, rate_limit=100_000)
    load(
        emulator,
        {
            "alice": [],
            "bob": [("vip", "crm")],
            "carol": [("x", "cdp")],
            "dave": [],
        },
    )
    return emulator


def test_deleted_rows_lose_their_segments_on_the_next_run(
    meltano: Any, postgres: Any, app: Any, tmp_path: Path
) -> None:
    app.admin.upsert_user(
        {
            "userID": "carol",
            "lastUpdatedAt": "2026-10-01T00:00:00Z",
            "segments": [{"id": "x", "source": "cdp"}, {"id": "other", "source": M}],
        }
    )
    postgres.sql(MEMBERS_TABLE)
    # dave stays in churn_risk: an audience emptied by the delete would trip
    # its own empty-audience guard (issue 19), as mirror/test_hostile_deliveries.py shows.
    postgres.sql(
        "INSERT INTO public.audience_members VALUES "
        "('alice', 'vip'), ('bob', 'vip'), ('carol', 'churn_risk'), ('dave', 'vip'), "
        "('dave', 'churn_risk')"
    )
    env = env_for(postgres, app, tmp_path)
    first = meltano("run", "mirror-audiences", env=env)
    assert "proven complete (audience_rows=5 matches the 5 distinct rows received)" in (
        first.stderr
    )
    assert segments(app, "alice") == [("vip", M)]
    assert segments(app, "bob") == [("vip", "crm"), ("vip", M)]
    assert segments(app, "carol") == [("x", "cdp"), ("other", M), ("churn_risk", M)]

    postgres.sql("DELETE FROM public.audience_members WHERE algolia_user_id IN ('bob', 'carol')")
    meltano("run", "mirror-audiences", env=env)
    assert segments(app, "alice") == [("vip", M)]
    assert segments(app, "bob") == [("vip", "crm")]  # the crm segment of the same id stays
    assert segments(app, "carol") == [("x", "cdp"), ("other", M)]  # out of scope: stays
    assert segments(app, "dave") == [("churn_risk", M), ("vip", M)]


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _is_tap(pid: int) -> bool:
    try:
        return b"tap-postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_a_tap_killed_mid_stream_removes_nothing(
    meltano: Any, postgres: Any, app: Any, tmp_path: Path
) -> None:
    postgres.sql(MEMBERS_TABLE)
    postgres.sql(
        "INSERT INTO public.audience_members "
        "SELECT 'm-' || lpad(n::text, 7, '0'), 'vip' FROM generate_series(1, 200000) AS n"
    )
    postgres.sql("INSERT INTO public.audience_members VALUES ('alice', 'vip')")
    # zed holds vip but is not in the table: a complete read would remove it.
    app.admin.upsert_user(
        {
            "userID": "zed",
            "lastUpdatedAt": "2026-10-01T00:00:00Z",
            "segments": [{"id": "vip", "source": M}, {"id": "other", "source": M}],
        }
    )
    proc = subprocess.Popen(
        [str(meltano.exe), "run", "mirror-audiences"],
        cwd=Path(__file__).resolve().parents[2],
        env={**meltano.base_env, **env_for(postgres, app, tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        # The target logs the first record of a mirror stream: the tap is streaming now.
        deadline = time.monotonic() + 300
        while not any("collecting members" in line for line in list(lines)):
            assert proc.poll() is None, "meltano ended before the target read a record"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        taps = [pid for pid in _descendants(proc.pid) if _is_tap(pid)]
        assert taps
        for pid in taps:
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=300)
        reader.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = "".join(lines)
    assert proc.returncode != 0
    assert "NOT proven complete" in stderr
    assert segments(app, "zed") == [("vip", M), ("other", M)]


def test_a_table_emptied_by_mistake_trips_the_guard(
    meltano: Any, postgres: Any, app: Any, tmp_path: Path
) -> None:
    postgres.sql(MEMBERS_TABLE)
    postgres.sql("INSERT INTO public.audience_members VALUES ('alice', 'vip'), ('dave', 'vip')")
    env = env_for(postgres, app, tmp_path)
    meltano("run", "mirror-audiences", env=env)
    assert segments(app, "alice") == [("vip", M)]

    postgres.sql("TRUNCATE public.audience_members")
    out = meltano("run", "mirror-audiences", env=env, check=False)
    assert out.returncode != 0, out.stderr[-3000:]
    assert "Mirror guard" in out.stderr
    assert "mirror_allow_empty_audience" in out.stderr
    assert segments(app, "alice") == [("vip", M)]
    assert segments(app, "dave") == [("vip", M)]
