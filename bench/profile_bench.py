"""Sampling profiles (py-spy) of the tap and the target, summarised as hot spots."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from bench.emulator import Emulator, venv_bin
from bench.tap_bench import PAGE_SIZE
from bench.target_bench import _reset, target_config, write_events

BENCH_DIR = Path(__file__).resolve().parent
PY_SPY = BENCH_DIR / ".venvs" / "tools" / "bin" / "py-spy"
FRAME_RE = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")

# Where a frame's file lives decides its "component".
COMPONENTS = (
    ("tap_algolia", "tap_algolia"),
    ("target_algolia", "target_algolia"),
    ("algolia_api", "algolia_api"),
    ("singer_sdk", "singer_sdk"),
    ("msgspec", "msgspec"),
    ("jsonschema", "jsonschema"),
    ("requests/", "requests"),
    ("urllib3", "urllib3"),
    ("backoff", "backoff"),
    ("http/client", "http.client (stdlib)"),
    ("socket", "socket/ssl (stdlib)"),
    ("json/", "json (stdlib)"),
    ("logging", "logging (stdlib)"),
    ("concurrent/futures", "concurrent.futures (stdlib)"),
    ("threading", "threading (stdlib)"),
)


def _component(path: str) -> str:
    for needle, name in COMPONENTS:
        if needle in path:
            return name
    if "site-packages" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/lib/python3" in path:
        return "stdlib (other)"
    return "other"


def _short(frame: str) -> tuple[str, str]:
    """('func (pkg/module.py)', component) for a py-spy frame 'func (path:line)'."""
    match = FRAME_RE.match(frame.strip())
    if not match:
        return frame.strip(), "other"
    path = match.group("file")
    short = path.split("site-packages/", 1)[-1]
    short = re.sub(r"^.*/lib/python3\.\d+/", "", short)
    short = re.sub(r"^/work/main/[^/]+/", "", short)
    return f"{match.group('func')} ({short})", _component(path)


def summarise(raw: Path, top: int = 12) -> dict[str, Any]:
    """Self time per function, inclusive time per function, self time per component."""
    total = 0
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_component: Counter[str] = Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f[0].startswith("thread (")]
        if not frames:
            continue
        total += count
        leaf, component = frames[-1]
        self_time[leaf] += count
        by_component[component] += count
        for name in {f[0] for f in frames}:
            inclusive[name] += count

    def pct(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"name": name, "pct": round(100.0 * n / total, 1)}
            for name, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "self": pct(self_time) if total else [],
        "inclusive": pct(inclusive) if total else [],
        "components": pct(by_component) if total else [],
    }


def _record(argv: list[str], out: Path, stdin: Any = subprocess.DEVNULL) -> bool:
    command = [str(PY_SPY), "record", "--rate", "250", "--format", "raw", "-o", str(out), "--"]
    proc = subprocess.run(
        [*command, *argv],
        stdin=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    return proc.returncode == 0 and out.exists()


def profile_suite(
    outdir: Path, *, tap_users: int, target_users: int, log: Any = print
) -> dict[str, Any]:
    if not PY_SPY.exists():
        return {"skipped": "py-spy not installed (bash bench/run.sh creates bench/.venvs/tools)"}
    outdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {}
    with Emulator(max(tap_users, target_users)) as emu:
        cfg = outdir / "tap.json"
        cfg.write_text(__import__("json").dumps(emu.tap_config(page_size=PAGE_SIZE)))
        # Warm the emulator's per-profile JSON cache first.
        subprocess.run(
            [venv_bin("tap-algolia"), "--config", str(cfg)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        raw = outdir / "tap.pyspy.txt"
        log(f"  profiling tap-algolia on {max(tap_users, target_users)} users")
        if _record([venv_bin("tap-algolia"), "--config", str(cfg)], raw):
            result["tap"] = {"users": max(tap_users, target_users), **summarise(raw)}
        _reset(emu, rate_limit=1_000_000, rate_window=60, latency_ms=0)
        ids = emu.list_user_ids(target_users)
        events = write_events(outdir / "events.jsonl", [(u, "bench_prof", "enter") for u in ids])
        tcfg = target_config(emu, outdir / "target.json")
        raw_t = outdir / "target.pyspy.txt"
        log(f"  profiling target-algolia on {target_users} changed users")
        with events.open("rb") as stdin:
            if _record([venv_bin("target-algolia"), "--config", str(tcfg)], raw_t, stdin):
                result["target"] = {"users": target_users, **summarise(raw_t)}
    return result
