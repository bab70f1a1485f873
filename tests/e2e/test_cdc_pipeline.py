"""Change data capture end to end: a PostgreSQL table of audience memberships, read
LOG_BASED (wal2json) by tap-postgres through `meltano run export-audience-changes`
into target-algolia.

- the first run reads the table's current rows (tap-postgres bootstraps the
  stream), and each later run only the rows inserted or deleted since;
- an inserted row adds the segment, a deleted row removes it;
- a run costs at most 2 calls per changed user (GET and PUT) and no list scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from algolia_testkit.postgres import has_wal2json

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

M = "meltano"
SLOT = "algolia_audiences"  # replication_slot_name of tap-postgres--audience-changes
STATE_ID = "dev:tap-postgres--audience-changes-to-target-algolia"

# The table of docs/target/cdc.md: its primary key
# is the replica identity, so a deleted row's log entry carries both columns.
MEMBERSHIPS_TABLE = """
DROP TABLE IF EXISTS public.audience_memberships;
CREATE TABLE public.audience_memberships (
    algolia_user_id text NOT NULL,
    segment text NOT NULL,
    PRIMARY KEY (algolia_user_id, segment)
);
"""


def segments(emulator: Any, user_id: str) -> list[tuple[str, str]]:
    user = emulator.admin.get_user(user_id)
    return [(s["id"], s["source"]) for s in user.get("segments") or []]


@pytest.fixture
def slot(postgres: Any) -> Iterator[str]:
    if not has_wal2json(postgres.bindir):
        pytest.skip(
            "the wal2json output plugin is not installed for this PostgreSQL: "
            "apt-get install postgresql-<major>-wal2json (scripts/test.sh does it as root)"
        )
    postgres.sql(MEMBERSHIPS_TABLE)
    postgres.sql(f"SELECT pg_create_logical_replication_slot('{SLOT}', 'wal2json')")
    yield SLOT
    # A slot keeps the server's log from being recycled: never leave one behind.
    postgres.sql(f"SELECT pg_drop_replication_slot('{SLOT}')")


def test_inserted_rows_enter_and_deleted_rows_leave_at_two_calls_per_changed_user(
    meltano: Any, postgres: Any, emulator_factory: Any, slot: str, tmp_path: Path
) -> None:
    app = emulator_factory(users=0, rate_limit=100_000)
    profiles = {
        "alice": [],
        "bob": [{"id": "vip", "source": "crm"}],
        "carol": [],
        "dave": [],
        "erin": [{"id": "x", "source": "cdp"}],
    }
    for user_id, held in profiles.items():
        app.admin.upsert_user(
            {"userID": user_id, "lastUpdatedAt": "2026-10-01T00:00:00Z", "segments": held}
        )
    postgres.sql(
        "INSERT INTO public.audience_memberships VALUES "
        "('alice', 'vip'), ('bob', 'vip'), ('carol', 'churn_risk'), ('erin', 'vip')"
    )
    env = {
        **postgres.env("TAP_POSTGRES"),
        "TARGET_ALGOLIA_API_URL": app.url,
        "TARGET_ALGOLIA_REJECTS_PATH": str(tmp_path / "rejects.jsonl"),
    }

    first = meltano("run", "export-audience-changes", env=env)
    assert "bootstrapping public-audience_memberships" in first.stderr
    assert segments(app, "alice") == [("vip", M)]
    assert segments(app, "bob") == [("vip", "crm"), ("vip", M)]
    assert segments(app, "carol") == [("churn_risk", M)]
    assert segments(app, "erin") == [("x", "cdp"), ("vip", M)]
    lsn = meltano.state(STATE_ID)["singer_state"]["bookmarks"]["public-audience_memberships"]
    assert lsn["replication_key"] == "_sdc_lsn"

    # Changes: dave joins, bob and erin leave vip, carol moves to vip.
    postgres.sql("INSERT INTO public.audience_memberships VALUES ('dave', 'vip')")
    postgres.sql(
        "DELETE FROM public.audience_memberships WHERE (algolia_user_id, segment) IN "
        "(('bob', 'vip'), ('erin', 'vip'), ('carol', 'churn_risk'))"
    )
    postgres.sql("INSERT INTO public.audience_memberships VALUES ('carol', 'vip')")
    app.admin.reset_stats()

    meltano("run", "export-audience-changes", env=env)
    assert segments(app, "alice") == [("vip", M)]
    assert segments(app, "bob") == [("vip", "crm")]  # crm's vip of the same id stays
    assert segments(app, "carol") == [("vip", M)]
    assert segments(app, "dave") == [("vip", M)]
    assert segments(app, "erin") == [("x", "cdp")]
    stats = app.admin.stats()
    changed = ["bob", "carol", "dave", "erin"]
    assert stats["byRoute"].get("GET /2/users", 0) == 0  # no list scan
    assert stats["userGets"] == dict.fromkeys(changed, 1)  # alice's row did not change
    assert stats["userPuts"] == dict.fromkeys(changed, 1)
    rejects = tmp_path / "rejects.jsonl"
    assert not rejects.exists() or not rejects.read_text()

    # Nothing changed since: the next run reads nothing and calls nothing.
    app.admin.reset_stats()
    meltano("run", "export-audience-changes", env=env)
    stats = app.admin.stats()
    assert stats["userGets"] == {}
    assert stats["userPuts"] == {}
