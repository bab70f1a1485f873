"""Sampling profiles (py-spy) of the tap and the target, summarised as hot spots."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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


# Inclusive time is listed only for frames of these (the rest is CLI/thread plumbing).
INCLUSIVE_COMPONENTS = frozenset(
    {"tap_algolia", "target_algolia", "algolia_api", "singer_sdk", "requests", "urllib3"}
)


# Named hot paths: share of samples whose stack passes through any of the patterns.
HOT_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "tap": {
        "timestamp canonicalisation (algolia_api.timestamps)": ("canonical_timestamp (",),
        "page JSON decode (msgspec in validate_response)": ("validate_response (",),
        "SDK pruning of deselected fields": ("pop_deselected_record_properties (",),
        "record shaping (build_record, incl. its timestamp calls)": ("build_record (",),
        "RECORD message encode + write": ("_write_record_message (",),
        "HTTP (requests/urllib3/socket, incl. waits)": ("Session.send (",),
        "startup (imports)": ("_find_and_load (",),
    },
    "target": {
        "HTTP send/receive (PacedAdapter.send)": ("PacedAdapter.send (",),
        "requests per-call environment lookups (proxies, netrc, CA bundle)": (
            "merge_environment_settings (",
            "get_netrc_auth (",
        ),
        "response header parsing (http.client, email)": ("parse_headers (",),
        "pacing (RateLimitPacer)": ("RateLimitPacer.",),
        "merge rules (target_algolia.merge)": ("target_algolia/merge.py",),
        "reading and parsing stdin (SDK)": ("_process_lines (", "deserialize_json ("),
        "startup (imports)": ("_find_and_load (",),
    },
}

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


def _component(path: str) -> str:
    for needle, name in COMPONENTS:
        if needle in path:
            return name
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    head = path.split("/", 1)[0].removesuffix(".py")
    if path.startswith("<frozen") or head in _STDLIB:
        return "stdlib (other)"
    return head or "other"


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


def summarise(raw: Path, top: int = 12, kind: str = "tap") -> dict[str, Any]:
    """Self time per function, inclusive time per function, self time per component."""
    total = 0
    hot: Counter[str] = Counter()
    groups = HOT_PATHS.get(kind, {})
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
        for label, patterns in groups.items():
            if any(pattern in stack for pattern in patterns):
                hot[label] += count
        leaf, component = frames[-1]
        self_time[leaf] += count
        by_component[component] += count
        for name in {f[0] for f in frames if f[1] in INCLUSIVE_COMPONENTS}:
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
        "hot_paths": [
            {"name": label, "pct": round(100.0 * hot[label] / total, 1) if total else 0.0}
            for label in groups
        ],
    }


def _record(
    argv: list[str], out: Path, stdin: Any = subprocess.DEVNULL, *, gil: bool = False
) -> bool:
    """py-spy at 250 Hz; ``gil`` samples only the thread holding the GIL (CPU, not waits)."""
    command = [str(PY_SPY), "record", "--rate", "250", "--format", "raw", "-o", str(out)]
    command += ["--gil", "--"] if gil else ["--"]
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
    result["raw"] = str(outdir)
    with Emulator(max(tap_users, target_users)) as emu:
        cfg = outdir / "tap.json"
        cfg.write_text(json.dumps(emu.tap_config(page_size=PAGE_SIZE)))
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
            result["tap"] = {
                "users": max(tap_users, target_users),
                "gil_only": False,
                **summarise(raw),
            }
        _reset(emu, rate_limit=1_000_000, rate_window=60, latency_ms=0)
        ids = emu.list_user_ids(target_users)
        events = write_events(outdir / "events.jsonl", [(u, "bench_prof", "enter") for u in ids])
        tcfg = target_config(emu, outdir / "target.json")
        raw_t = outdir / "target.pyspy.txt"
        log(f"  profiling target-algolia on {target_users} changed users")
        with events.open("rb") as stdin:
            if _record([venv_bin("target-algolia"), "--config", str(tcfg)], raw_t, stdin, gil=True):
                result["target"] = {
                    "users": target_users,
                    "gil_only": True,
                    **summarise(raw_t, kind="target"),
                }
    return result
