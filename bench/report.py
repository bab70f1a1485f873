"""Results -> docs/benchmarks.md (tables) and, via bench/plot.py, docs/benchmarks.png."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import mirror_bench

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TOOLS_PYTHON = BENCH_DIR / ".venvs" / "tools" / "bin" / "python"


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    ).stdout.strip()
    dirty = subprocess.run(
        [
            "git",
            "status",
            "--porcelain",
            "--",
            "algolia-api",
            "algolia-emulator",
            "tap-algolia",
            "target-algolia",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    ).stdout.split("\n")
    return {
        "dirty": [line[3:] for line in dirty if line.strip()],
        "cpu_model": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "executable": sys.executable,
    }


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: the measured value and whether it holds."""
    out: list[dict[str, Any]] = []

    def add(name: str, target: str, value: Any, holds: bool | None) -> None:
        out.append({"name": name, "target": target, "value": value, "holds": holds})

    for users, block in sorted(
        results.get("tap_throughput", {}).items(), key=lambda kv: int(kv[0])
    ):
        ratio = block["tap_time_over_floor"]
        add(f"tap time / floor time ({int(users):,} users)", "<= 1.2", ratio, ratio <= 1.2)
        if "tap_cpu_over_floor" in block:
            cpu = block["tap_cpu_over_floor"]
            add(f"tap CPU / floor CPU ({int(users):,} users)", "(<= 1.2)", cpu, cpu <= 1.2)
        if "msdk_time_over_tap" in block:
            speed = block["msdk_time_over_tap"]
            add(f"msdk time / tap time ({int(users):,} users)", ">= 2.0", speed, speed >= 2.0)
        if "msdk_cpu_over_tap" in block:
            cpu = block["msdk_cpu_over_tap"]
            add(f"msdk CPU / tap CPU ({int(users):,} users)", "(>= 2.0)", cpu, cpu >= 2.0)
    memory = results.get("tap_memory", {})
    if memory.get("ratio") is not None:
        add("tap peak RSS, larger / smaller", "<= 1.15", memory["ratio"], memory["ratio"] <= 1.15)
    target = results.get("target", {})
    calls = target.get("calls_per_user")
    if calls:
        changed = calls["changed"]["calls_per_user"]
        unchanged = calls["unchanged"]["calls_per_user"]
        add("calls per changed user", "<= 2", changed, changed <= 2)
        add("calls per unchanged user", "<= 1", unchanged, unchanged <= 1)
    share = target.get("budget")
    if share:
        use = share.get("budget_use")
        add("share of request budget used", ">= 90%", use, use is not None and use >= 0.9)
        add(
            "429 responses under the small limit",
            "0",
            share["rate_limited"],
            share["rate_limited"] == 0,
        )
    speed = target.get("speedup")
    if speed:
        add("speed-up over serial writes (50 ms/call)", "(reported)", speed["speedup_wall"], None)
    if results.get("mirror"):
        mirror_bench.verdicts(results["mirror"], add)
    melt = results.get("meltano", {})
    if "overhead_s" in melt:
        add("meltano run overhead (s)", "(reported)", melt["overhead_s"], None)
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(results: dict[str, Any], chart: str | None) -> str:
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {m['date']} on {m['cpu_model']}, {m['cores']} cores, "
        f"{m['implementation']} {m['python']}, {m['os']}, commit `{m['commit']}`"
        f" ({results['mode']} mode). Reproduce with `bash bench/run.sh` (see bench/README.md).",
        *(
            [f"Working tree had uncommitted changes in: {', '.join(m['dirty'])}."]
            if m.get("dirty")
            else []
        ),
        "The machine is shared and noisy: every figure is a median of alternating runs.",
        "",
    ]
    if chart:
        lines += [f"![benchmarks]({chart})", ""]
    lines += ["## Targets", "", "| what | target | measured | holds |", "| --- | --- | --- | --- |"]
    for v in results["verdicts"]:
        holds = {True: "yes", False: "**no**", None: "-"}[v["holds"]]
        value = v["value"]
        if isinstance(value, float) and "budget" in v["name"]:
            value = f"{100 * value:.1f}%"
        lines.append(f"| {v['name']} | {v['target']} | {_fmt(value)} | {holds} |")

    tp = results.get("tap_throughput", {})
    if tp:
        lines += [
            "",
            "## Tap throughput",
            "",
            "Output to /dev/null, page size 1000, one emulator process per user count "
            "(rate limit 1,000,000/60 s), runs alternating tap, floor, msdk; "
            f"median of {results['reps']}. *Emulator CPU* is the emulator's CPU seconds "
            "during the run over the run's wall time (same server work for every contender).",
            "",
            "| users | contender | median wall (s) | records/s | time vs tap | median CPU (s) "
            "| CPU vs tap | peak RSS (MB) | emulator CPU share | runs (s) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for users, block in sorted(tp.items(), key=lambda kv: int(kv[0])):
            tap_wall = block["contenders"]["tap"]["median_wall_s"]
            tap_cpu = block["contenders"]["tap"].get("median_cpu_s") or float("nan")
            for name, c in block["contenders"].items():
                cpu = c.get("median_cpu_s", float("nan"))
                lines.append(
                    f"| {int(users):,} | {name} | {c['median_wall_s']:.2f} | "
                    f"{c['records_per_s']:,.0f} | {c['median_wall_s'] / tap_wall:.2f}x | "
                    f"{cpu:.2f} | {cpu / tap_cpu:.2f}x | "
                    f"{c['median_max_rss_mb']:.0f} | {100 * c['emulator_cpu_share']:.0f}% | "
                    f"{', '.join(f'{w:.2f}' for w in c['wall_s'])} |"
                )
    check = results.get("floor_check")
    if check:
        same = "identical" if check["identical"] else "**different**"
        lines += [
            "",
            f"Floor check ({check['users']:,} users): the floor's {check['floor_records']:,} "
            f"RECORD lines are {same} to the tap's {check['tap_records']:,} up to "
            f"`time_extracted` ({check['differing_records']} differ). The floor stamps "
            "`time_extracted` once per page, writes a stub SCHEMA and a simpler STATE.",
        ]
    mem = results.get("tap_memory", {})
    if mem.get("points"):
        lines += [
            "",
            "## Tap memory",
            "",
            "| users | tap peak RSS (MB, median) | runs |",
            "| --- | --- | --- |",
        ]
        for p in mem["points"]:
            lines.append(
                f"| {p['users']:,} | {p['median_max_rss_mb']:.1f} | "
                f"{', '.join(f'{x:.1f}' for x in p['max_rss_mb'])} |"
            )
        lines += ["", f"Larger / smaller: **{mem['ratio']:.3f}**."]
    target = results.get("target", {})
    if target:
        calls = target["calls_per_user"]
        lines += [
            "",
            "## Target API use",
            "",
            f"{calls['changed']['users']} users, {calls['records']} events "
            "(every user `enter bench_a`, every second user also `enter bench_b`). "
            "Run 1 changes every user; run 2 replays the same events, so no user changes. "
            "Per-user calls come from the emulator's per-route, per-user counters; "
            "*run overhead* is every other call (none expected: the target makes no "
            "separate credentials call; results measured before that change show 1).",
            "",
            "| run | calls per user (mean) | max | GETs | PUTs | run overhead calls | 429s |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for label in ("changed", "unchanged"):
            c = calls[label]
            lines.append(
                f"| {label} | {c['calls_per_user']} | {c['max_calls_per_user']} | {c['gets']} | "
                f"{c['puts']} | {c['run_overhead_calls']} | {c['rate_limited']} |"
            )
        b = target["budget"]
        use = "n/a" if b.get("budget_use") is None else f"{100 * b['budget_use']:.1f}%"
        lines += [
            "",
            f"**Budget use** under an emulator limit of {b['rate_limit']} calls per "
            f"{b['rate_window_s']:g} s window, the target's own cap set high, {b['users']} users "
            f"changing: **{use}**, {b['rate_limited']} responses 429, {b['calls']} calls in "
            f"{b['wall_s']:.1f} s over {b['windows']} windows "
            f"(calls per window: {b.get('calls_per_window')}).",
            "",
            "Definition: the emulator's windows are fixed and open at the first call after the "
            "previous one ended. A thread polls the emulator's admin stats every 20 ms and "
            "replays those windows. Budget use = accepted calls in every window except the "
            "last / (limit x (start of last window - start of first window) / window length). "
            "Time lost between a window's end and the next call counts against the client; "
            "the last window, where the run simply ran out of work, does not.",
        ]
        s = target["speedup"]
        lines += [
            "",
            f"**Speed-up over serial writes**: {s['users']} changed users, emulator latency "
            f"{s['latency_ms']:g} ms per call, `concurrency: 1` vs `concurrency: "
            f"{s['concurrency']}`: **{s['speedup_wall']}x** on process wall time "
            f"(serial {s['wall_s']['serial']} s, concurrent {s['wall_s']['concurrent']} s), "
            f"**{s['speedup_api_phase']}x** on the API phase (first to last call: serial "
            f"{s['api_phase_s']['serial']} s, concurrent {s['api_phase_s']['concurrent']} s).",
        ]
    if results.get("mirror"):
        lines += mirror_bench.markdown(results["mirror"])
    melt = results.get("meltano")
    if melt:
        lines += ["", "## Meltano overhead", ""]
        if "skipped" in melt:
            lines.append(f"Not measured: {melt['skipped']}.")
        else:
            lines += [
                f"`meltano run tap-algolia target-jsonl` ({melt['meltano_version']}, dev "
                f"environment, --full-refresh --no-state-update, private system DB) vs the "
                f"same two installed plugins piped by hand, {melt['users']:,} users, "
                f"median of {len(melt['wall_s']['meltano'])} alternating runs: "
                f"meltano {melt['median_meltano_s']:.2f} s, "
                f"direct {melt['median_direct_s']:.2f} s, "
                f"**overhead {melt['overhead_s']:.2f} s ({melt['overhead_ratio']:.2f}x)**.",
            ]
    prof = results.get("profiles")
    if prof:
        lines += ["", "## Profiles", ""]
        if "skipped" in prof:
            lines.append(f"Not profiled: {prof['skipped']}.")
        for name in ("tap", "target"):
            p = prof.get(name)
            if not p:
                continue
            sampled = "the thread holding the GIL" if p.get("gil_only") else "non-idle threads"
            lines += [
                f"### {name} ({p['users']:,} users, py-spy at 250 Hz, {p['samples']:,} samples "
                f"of {sampled})",
                "",
                "| component (self time) | % | function (self time) | % "
                "| function (inclusive) | % |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            hot = p.get("hot_paths", [])
            if hot:
                lines[-3:-3] = [
                    "| hot path (inclusive) | % of samples |",
                    "| --- | --- |",
                    *[f"| {h['name']} | {h['pct']} |" for h in hot],
                    "",
                ]
            rows = max(len(p["components"]), len(p["self"]), len(p["inclusive"]))
            for i in range(rows):
                cells = []
                for key in ("components", "self", "inclusive"):
                    item = p[key][i] if i < len(p[key]) else None
                    cells += [f"`{item['name']}`", f"{item['pct']}"] if item else ["", ""]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    notes = results.get("notes")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines).rstrip() + "\n"


def chart(results_json: Path, png: Path) -> str | None:
    """Draw the PNG with matplotlib from the bench tools venv; None if that is missing."""
    if not TOOLS_PYTHON.exists():
        return None
    proc = subprocess.run(
        [str(TOOLS_PYTHON), str(BENCH_DIR / "plot.py"), str(results_json), str(png)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return None
    return str(png)
