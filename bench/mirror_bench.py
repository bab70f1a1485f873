"""target-algolia at audience scale: list scan and mirror mode against today's per-user reads.

Four measurements, each run through the real ``target-algolia`` executable
against an emulator in its own process, with the profiles loaded in bulk:

- hourly mirror run: 100,000 profiles, an audience of 20,000 with 1% churn
  (200 leave, 200 join), proven by ACTIVATE_VERSION; API calls per run, next
  to the same input read per user (today: a GET per member, leavers kept);
- backfill: 50,000 users entering an audience on 100,000 profiles; calls per
  changed user with a list scan, with a re-read, and per user;
- memory: peak RSS for 1,000,000 input users in mirror mode (every profile
  already in its audience: the hourly steady state), next to a per-user run;
- overwrite window: seconds between reading a profile and the end of its PUT,
  at the default budget of 400 calls per minute, with and without re-read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.emulator import Emulator
from bench.target_bench import HIGH_LIMIT, VERSION_SLOT, run_target, target_config

M = "meltano"
STREAM = "audience_members"
STAMP = "2026-10-01T00:00:00Z"
LOAD_CHUNK = 40_000  # one bulk body stays under the emulator's 10 MiB limit
WINDOW_RE = re.compile(r"max_read_to_write_seconds=([0-9.]+)")
# The summary's mirror outcome of a proven stream: mirror={stream:proven/+added/-removed}.
PROVEN_RE = re.compile(r"mirror=\{[^}]*:proven/\+(\d+)/-(\d+)")


def profile_id(index: int) -> str:
    return f"p{index:07d}"


def load_profiles(emu: Emulator, count: int, holders: set[int], audience: str) -> None:
    """``count`` bare profiles; the ``holders`` hold ``audience`` with our source."""
    held = [{"id": audience, "source": M}]
    for start in range(0, count, LOAD_CHUNK):
        users = [
            {
                "userID": profile_id(i),
                "lastUpdatedAt": STAMP,
                "segments": held if i in holders else [],
            }
            for i in range(start, min(start + LOAD_CHUNK, count))
        ]
        emu.admin.load_users(users, replace=start == 0)


def write_members(path: Path, members: list[int], audience: str, *, versioned: bool) -> Path:
    """One snapshot record per member; ACTIVATE_VERSION after them when ``versioned``.

    The version is :data:`VERSION_SLOT`, which ``run_target(stamp_version=True)``
    replaces by the run's start (a version from before the run proves nothing).
    """
    version = VERSION_SLOT if versioned else None
    schema = {
        "type": "SCHEMA",
        "stream": STREAM,
        "schema": {"type": "object", "properties": {}},
        "key_properties": [],
    }
    with path.open("w") as handle:
        handle.write(json.dumps(schema) + "\n")
        for index in members:
            message: dict[str, Any] = {
                "type": "RECORD",
                "stream": STREAM,
                "record": {"algolia_user_id": profile_id(index), "segments": [audience]},
            }
            if version is not None:
                message["version"] = version
            handle.write(json.dumps(message) + "\n")
        if version is not None:
            handle.write(
                json.dumps({"type": "ACTIVATE_VERSION", "stream": STREAM, "version": version})
                + "\n"
            )
        handle.write(json.dumps({"type": "STATE", "value": {"bench": 1}}) + "\n")
    return path


def _calls(stats: dict[str, Any]) -> dict[str, int]:
    by_route = stats.get("byRoute", {})
    return {
        "total": stats["total"],
        "list": by_route.get("GET /2/users", 0),
        "get": by_route.get("GET /2/users/{userID}", 0),
        "put": by_route.get("PUT /2/users/{userID}/segments", 0),
    }


def _mirror_config(audience: str) -> dict[str, Any]:
    return {"mirror_streams": [{"stream": STREAM, "audiences": [audience]}]}


def hourly_mirror(
    emu: Emulator, workdir: Path, *, profiles: int, audience: int, churn: int
) -> dict[str, Any]:
    """One hourly run after ``churn`` members left and ``churn`` joined."""
    name = "bench_hourly"
    before = set(range(audience))
    # Leavers and joiners spread over the whole audience, not one page.
    step = audience // churn
    leavers = {i * step for i in range(churn)}
    joiners = set(range(audience, audience + churn))
    members = sorted((before - leavers) | joiners)
    stream = write_members(workdir / "hourly.jsonl", members, name, versioned=True)
    results: dict[str, Any] = {
        "profiles": profiles,
        "audience": audience,
        "joined": churn,
        "left": churn,
    }
    runs = {
        "mirror": _mirror_config(name),
        "per_user_today": {"read_strategy": "per_user"},
    }
    for label, extra in runs.items():
        load_profiles(emu, profiles, before, name)
        config = target_config(emu, workdir / f"hourly-{label}.json", **extra)
        run = run_target(emu, config, stream, stamp_version=True)
        results[label] = {
            "calls": _calls(run["stats"]),
            "wall_s": round(run["wall_s"], 2),
            "summary": run["summary"],
        }
    changed = 2 * churn
    proven = PROVEN_RE.search(results["mirror"]["summary"])
    results["mirror"]["segments_removed"] = int(proven.group(2)) if proven else 0
    mirror = results["mirror"]["calls"]
    results["mirror"]["calls_per_changed_user"] = round(
        (mirror["get"] + mirror["put"]) / changed, 3
    )
    results["holds"] = (
        mirror["list"] <= 100
        and (mirror["get"] + mirror["put"]) <= 2 * changed
        and results["mirror"]["segments_removed"] == churn
    )
    return results


def backfill(emu: Emulator, workdir: Path, *, profiles: int, entering: int) -> dict[str, Any]:
    """``entering`` users, spread over every page, enter an audience nobody holds."""
    name = "bench_backfill"
    step = profiles // entering
    members = [i * step for i in range(entering)]
    stream = write_members(workdir / "backfill.jsonl", members, name, versioned=False)
    runs: dict[str, dict[str, Any]] = {
        # (auto picks the list scan too: every batch holds 10,000 users)
        "list_scan": {"read_strategy": "list_scan"},
        "list_scan_reread": {"read_strategy": "list_scan", "reread_before_write": True},
        "per_user_today": {"read_strategy": "per_user"},
    }
    results: dict[str, Any] = {"profiles": profiles, "entering": entering}
    for label, extra in runs.items():
        load_profiles(emu, profiles, set(), name)
        config = target_config(emu, workdir / f"backfill-{label}.json", **extra)
        run = run_target(emu, config, stream)
        calls = _calls(run["stats"])
        results[label] = {
            "calls": calls,
            "calls_per_changed_user": round(calls["total"] / entering, 4),
            "wall_s": round(run["wall_s"], 2),
            "summary": run["summary"],
        }
    results["holds"] = (
        results["list_scan"]["calls_per_changed_user"] <= 1.05
        and results["list_scan_reread"]["calls_per_changed_user"] <= 2.05
    )
    return results


def memory(emu: Emulator, workdir: Path, *, users: int, per_user_users: int) -> dict[str, Any]:
    """Peak RSS for ``users`` mirror members (steady state), and a per-user run for scale."""
    name = "bench_memory"
    load_profiles(emu, users, set(range(users)), name)
    stream = write_members(workdir / "memory.jsonl", list(range(users)), name, versioned=True)
    config = target_config(emu, workdir / "memory-mirror.json", **_mirror_config(name))
    mirror = run_target(emu, config, stream, stamp_version=True)
    # Today's target holds one batch (10,000 records) at a time: its peak does
    # not grow past that, so a smaller per-user run shows it (1M GETs would
    # take most of an hour even against the emulator).
    load_profiles(emu, per_user_users, set(range(per_user_users)), name)
    small = write_members(
        workdir / "memory-per-user.jsonl", list(range(per_user_users)), name, versioned=False
    )
    config = target_config(emu, workdir / "memory-per-user.json", read_strategy="per_user")
    per_user = run_target(emu, config, small)
    return {
        "mirror": {
            "input_users": users,
            "max_rss_mb": round(mirror["max_rss_mb"], 1),
            "calls": _calls(mirror["stats"]),
            "wall_s": round(mirror["wall_s"], 2),
        },
        "per_user_today": {
            "input_users": per_user_users,
            "max_rss_mb": round(per_user["max_rss_mb"], 1),
            "calls": _calls(per_user["stats"]),
            "wall_s": round(per_user["wall_s"], 2),
        },
    }


def overwrite_window(
    emu: Emulator, workdir: Path, *, profiles: int, changed_share: float
) -> dict[str, Any]:
    """Longest read-to-write gap at the default budget (400 calls/min), both choices."""
    name = "bench_window"
    step = round(1 / changed_share)
    members = list(range(0, profiles, step))
    stream = write_members(workdir / "window.jsonl", members, name, versioned=False)
    results: dict[str, Any] = {
        "profiles": profiles,
        "changed": len(members),
        "changed_per_page": round(1000 * changed_share),
        "budget_per_minute": 400,
    }
    for label, reread in (("without_reread", False), ("with_reread", True)):
        load_profiles(emu, profiles, set(), name)
        config = target_config(
            emu,
            workdir / f"window-{label}.json",
            read_strategy="list_scan",
            reread_before_write=reread,
        )
        # target_config sets a high budget for throughput runs; pace as a user would.
        settings = json.loads(config.read_text())
        settings["max_requests_per_minute"] = 400
        config.write_text(json.dumps(settings))
        run = run_target(emu, config, stream)
        window = WINDOW_RE.search(run["summary"])
        results[label] = {
            "max_window_s": float(window.group(1)) if window else None,
            "wall_s": round(run["wall_s"], 2),
            "calls": _calls(run["stats"]),
        }
    return results


#: Sizes of the issue, and tiny ones for the smoke run (CI checks the plumbing only).
FULL_SIZES = {
    "hourly": {"profiles": 100_000, "audience": 20_000, "churn": 200},
    "backfill": {"profiles": 100_000, "entering": 50_000},
    "memory": {"users": 1_000_000, "per_user_users": 20_000},
}
SMOKE_SIZES = {
    "hourly": {"profiles": 1_500, "audience": 300, "churn": 3},
    "backfill": {"profiles": 1_500, "entering": 150},
    "memory": {"users": 2_000, "per_user_users": 300},
}


def mirror_suite(workdir: Path, *, smoke: bool, log: Any = print) -> dict[str, Any]:
    sizes = SMOKE_SIZES if smoke else FULL_SIZES
    with Emulator(0, rate_limit=HIGH_LIMIT) as emu:
        log("  mirror: hourly run")
        hourly = hourly_mirror(emu, workdir, **sizes["hourly"])
        log(
            f"    mirror {hourly['mirror']['calls']['total']} calls vs per user "
            f"{hourly['per_user_today']['calls']['total']}"
        )
        log("  mirror: backfill")
        fill = backfill(emu, workdir, **sizes["backfill"])
        log(
            f"    {fill['list_scan']['calls_per_changed_user']} / "
            f"{fill['list_scan_reread']['calls_per_changed_user']} (re-read) / "
            f"{fill['per_user_today']['calls_per_changed_user']} (per user) calls per user"
        )
        log("  mirror: memory")
        mem = memory(emu, workdir, **sizes["memory"])
        log(
            f"    {mem['mirror']['max_rss_mb']} MB (mirror) vs "
            f"{mem['per_user_today']['max_rss_mb']} MB (per user)"
        )
        result = {"hourly": hourly, "backfill": fill, "memory": mem}
        if not smoke:  # paced at 400 calls/min: about a minute of wall time
            log("  mirror: overwrite window at 400 calls/min")
            result["window"] = {
                f"{share:.0%}": overwrite_window(emu, workdir, profiles=2000, changed_share=share)
                for share in (0.01, 0.05)
            }
            for label, w in result["window"].items():
                log(
                    f"    {label} changed: {w['without_reread']['max_window_s']} s, "
                    f"{w['with_reread']['max_window_s']} s with re-read"
                )
    return result


def verdicts(mirror: dict[str, Any], add: Any) -> None:
    """The issue's three targets (and the window, reported)."""
    hourly = mirror.get("hourly")
    if hourly:
        calls = hourly["mirror"]["calls"]
        changed = hourly["joined"] + hourly["left"]
        add(
            f"hourly mirror run: list calls ({hourly['profiles']:,} profiles)",
            "<= 100",
            calls["list"],
            calls["list"] <= 100,
        )
        add(
            "hourly mirror run: calls per changed user",
            "<= 2",
            hourly["mirror"]["calls_per_changed_user"],
            (calls["get"] + calls["put"]) <= 2 * changed,
        )
        add(
            "hourly run, per-user reads (today): calls",
            "(reported)",
            hourly["per_user_today"]["calls"]["total"],
            None,
        )
    fill = mirror.get("backfill")
    if fill:
        plain = fill["list_scan"]["calls_per_changed_user"]
        reread = fill["list_scan_reread"]["calls_per_changed_user"]
        add("backfill: calls per changed user, no re-read", "<= 1.05", plain, plain <= 1.05)
        add("backfill: calls per changed user, re-read", "<= 2.05", reread, reread <= 2.05)
        add(
            "backfill, per-user reads (today): calls per changed user",
            "(reported)",
            fill["per_user_today"]["calls_per_changed_user"],
            None,
        )
    mem = mirror.get("memory")
    if mem:
        add(
            f"mirror peak RSS, {mem['mirror']['input_users']:,} input users (MB)",
            "(reported)",
            mem["mirror"]["max_rss_mb"],
            None,
        )


def markdown(mirror: dict[str, Any]) -> list[str]:
    lines = ["", "## Audience scale: list scan and mirror mode (issue 10)", ""]
    hourly = mirror.get("hourly")
    if hourly:
        m, p = hourly["mirror"]["calls"], hourly["per_user_today"]["calls"]
        lines += [
            f"**Hourly mirror run**: {hourly['profiles']:,} profiles, an audience of "
            f"{hourly['audience']:,}, {hourly['joined']} join and {hourly['left']} leave "
            "(snapshot records, ACTIVATE_VERSION after them). The same input read per user "
            "is what the target did before the list scan; it also cannot remove the leavers.",
            "",
            "| run | API calls | list calls | GETs | PUTs | wall (s) | leavers removed |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| mirror mode (list scan) | **{m['total']:,}** | {m['list']:,} | {m['get']:,} | "
            f"{m['put']:,} | {hourly['mirror']['wall_s']} | "
            f"{hourly['mirror'].get('segments_removed', 0)} of {hourly['left']} |",
            f"| per-user reads (today) | {p['total']:,} | {p['list']:,} | {p['get']:,} | "
            f"{p['put']:,} | {hourly['per_user_today']['wall_s']} | 0 (no removals) |",
            "",
            "There is no separate credentials check: the run's first call (here the first "
            "list page) fails the run on a wrong application ID, key or ACL. Mirror mode "
            "re-reads each changed profile before writing it (GET + PUT), because its plan "
            "is only complete after the last page. The version the stream carries is stamped "
            "with the time of the run as it is fed, as a tap makes it when its sync begins.",
            "",
        ]
    fill = mirror.get("backfill")
    if fill:
        lines += [
            f"**Backfill**: {fill['entering']:,} users entering an audience on "
            f"{fill['profiles']:,} profiles (snapshot records in batches of 10,000; "
            "`read_strategy: auto` scans batches that large).",
            "",
            "| run | calls per changed user | calls | list | GETs | PUTs | wall (s) |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for label, title in (
            ("list_scan", "list scan"),
            ("list_scan_reread", "list scan + re-read"),
            ("per_user_today", "per-user reads (today)"),
        ):
            r = fill[label]
            c = r["calls"]
            lines.append(
                f"| {title} | **{r['calls_per_changed_user']}** | {c['total']:,} | "
                f"{c['list']:,} | {c['get']:,} | {c['put']:,} | {r['wall_s']} |"
            )
        lines.append("")
    mem = mirror.get("memory")
    if mem:
        mm, pu = mem["mirror"], mem["per_user_today"]
        lines += [
            f"**Memory**: peak RSS of the target for {mm['input_users']:,} input users in "
            f"mirror mode (every profile already in the audience, {mm['calls']['list']:,} "
            f"list calls, {mm['wall_s']} s): **{mm['max_rss_mb']} MB**. Today's per-user "
            f"reads hold one batch of 10,000 records at a time, so their peak does not grow "
            f"with the input: {pu['max_rss_mb']} MB for {pu['input_users']:,} users "
            f"({pu['wall_s']} s; a million GETs would take most of an hour).",
            "",
        ]
    windows = mirror.get("window")
    if windows:
        lines += [
            "**Overwrite window** (longest time from reading a profile to the end of its "
            "PUT, as the target's summary reports it), list scan at the default budget of "
            "400 calls per minute:",
            "",
            "| changed profiles per page | without re-read (s) | with re-read (s) |",
            "| --- | --- | --- |",
        ]
        for w in windows.values():
            lines.append(
                f"| {w['changed_per_page']} | {w['without_reread']['max_window_s']} | "
                f"{w['with_reread']['max_window_s']} |"
            )
        lines.append("")
    return lines
