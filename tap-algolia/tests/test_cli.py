"""The tap-algolia executable: failures, --test, --about, STATE lines, field selection."""

from __future__ import annotations

import json
import typing as t

import pytest

Runner = t.Callable[..., t.Any]
WRONG_KEY = "wrong-key-5ecret-do-not-print"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line or "CRITICAL" in line]


@pytest.mark.parametrize(
    ("key", "status", "args"),
    [
        (WRONG_KEY, 401, ()),
        ("emulator-search-only-key", 403, ()),
        (WRONG_KEY, 401, ("--test",)),
    ],
)
def test_wrong_credentials_end_in_one_clear_line(
    key: str,
    status: int,
    args: tuple[str, ...],
    emulator_factory: Runner,
    run_cli: Runner,
    emulator_config: Runner,
) -> None:
    server = emulator_factory(users=5)
    result = run_cli({**emulator_config(server), "api_key": key}, *args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result.stderr)
    assert f"{status} from Algolia on GET /2/users" in line
    assert "application ID" in line
    assert "ACLs (search, browse, recommendation)" in line
    assert "region" in line
    assert key not in result.stderr
    assert key not in result.stdout
    assert server.admin.stats()["total"] == 1  # not retried


def test_unreachable_host_is_one_line_after_retries(run_cli: Runner) -> None:
    config = {
        "app_id": "APP",
        "api_key": WRONG_KEY,
        "api_url": "http://127.0.0.1:9",
        "max_retries": 1,
    }
    result = run_cli(config)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result.stderr)
    assert "Could not reach Algolia after all retries" in line
    assert WRONG_KEY not in result.stderr


def test_bad_region_and_plain_http_are_refused_before_any_request(run_cli: Runner) -> None:
    result = run_cli({"app_id": "APP", "api_key": WRONG_KEY, "region": "asia"})
    assert result.returncode == 1
    assert "region" in result.stderr
    result = run_cli({"app_id": "APP", "api_key": WRONG_KEY, "api_url": "http://example.com"})
    assert result.returncode == 1
    assert "https is required" in result.stderr
    assert "Traceback" not in result.stderr
    assert WRONG_KEY not in result.stderr


def test_connection_test_succeeds_with_good_credentials(
    emulator_factory: Runner, run_cli: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=5)
    result = run_cli(emulator_config(server), "--test")
    assert result.returncode == 0, result.stderr
    assert error_lines(result.stderr) == []
    assert len(result.run.records) == 1


def test_about_lists_settings_and_capabilities_but_no_secret(
    emulator_factory: Runner, run_cli: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=1)
    result = run_cli(
        {**emulator_config(server), "api_key": WRONG_KEY}, "--about", "--format=markdown"
    )
    assert result.returncode == 0
    for setting in ("app_id", "api_key", "region", "api_url", "start_date", "page_size"):
        assert f"| {setting}" in result.stdout
    for setting in ("indices", "affinity", "overlap_seconds", "request_timeout", "max_retries"):
        assert f"| {setting}" in result.stdout
    assert "- `state`" in result.stdout
    assert WRONG_KEY not in result.stdout + result.stderr


def test_state_lines_end_with_a_plain_bookmark(
    emulator_factory: Runner, run_cli: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=25, seed=2)
    old = {
        "bookmarks": {
            "users": {
                "replication_key": "lastUpdatedAt",
                "replication_key_value": "2026-08-01T00:00:00.000000Z",
            }
        }
    }
    result = run_cli(emulator_config(server, page_size=5), state=old)
    assert result.returncode == 0, result.stderr
    run = result.run
    assert run.states[0] == old
    assert len(run.by_id()) == 25
    assert run.messages[-1]["type"] == "STATE"
    final = run.final_state["bookmarks"]["users"]
    assert set(final) == {"replication_key", "replication_key_value"}
    assert final["replication_key_value"] > "2026-11-"
    assert all("progress_markers" not in json.dumps(state) for state in run.states)


def _select(catalog: dict[str, t.Any], keep: t.Callable[[str], bool]) -> dict[str, t.Any]:
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            breadcrumb = item["breadcrumb"]
            if not breadcrumb:
                item["metadata"]["selected"] = True
            elif item["metadata"].get("inclusion") != "automatic":
                item["metadata"]["selected"] = keep(breadcrumb[-1])
    return catalog


@pytest.mark.parametrize("form", ["profile", "api"])
def test_catalog_selection_keeps_one_form(
    form: str, emulator_factory: Runner, run_cli: Runner, emulator_config: Runner
) -> None:
    server = emulator_factory(users=8)
    config = emulator_config(server)
    discovered = run_cli(config, "--discover")
    assert discovered.returncode == 0
    catalog = json.loads(discovered.stdout)
    if form == "profile":  # like meltano select users.algolia_* (keys are automatic)
        catalog = _select(catalog, lambda name: name.startswith("algolia_"))
        expected = {
            "userID",
            "lastUpdatedAt",
            "algolia_user_id",
            "algolia_user_type",
            "algolia_affinities_name",
            "algolia_affinities_value",
            "algolia_affinities_name_score",
            "algolia_affinities_value_score",
            "algolia_segment_ids",
            "algolia_segment_sources",
            "algolia_last_updated",
        }
    else:  # like meltano select users.* !users.algolia_*
        catalog = _select(catalog, lambda name: not name.startswith("algolia_"))
        expected = {"userID", "type", "affinities", "segments", "lastUpdatedAt"}
    result = run_cli(config, catalog=catalog)
    assert result.returncode == 0, result.stderr
    records = result.run.records
    assert len(records) == 8
    assert all(set(record) == expected for record in records)
    (schema,) = [m for m in result.run.messages if m["type"] == "SCHEMA"]
    assert set(schema["schema"]["properties"]) == expected
