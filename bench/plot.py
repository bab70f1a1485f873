"""Draw docs/benchmarks.png from a results JSON (run with bench/.venvs/tools/bin/python)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLOURS = {"tap": "#1f77b4", "floor": "#7f7f7f", "msdk": "#d62728"}


def main(results_path: str, png_path: str) -> int:
    results: dict[str, Any] = json.loads(Path(results_path).read_text())
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    m = results["machine"]
    fig.suptitle(
        f"tap-algolia / target-algolia benchmarks - {m['cpu_model']}, {m['cores']} cores, "
        f"Python {m['python']}, {m['date']}",
        fontsize=10,
    )

    ax = axes[0]
    tp = results.get("tap_throughput", {})
    counts = sorted(tp, key=int)
    names = [n for n in ("tap", "floor", "msdk") if any(n in tp[c]["contenders"] for c in counts)]
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        xs, ys = [], []
        for j, c in enumerate(counts):
            block = tp[c]["contenders"].get(name)
            if block:
                xs.append(j + (i - (len(names) - 1) / 2) * width)
                ys.append(block["records_per_s"])
        bars = ax.bar(xs, ys, width, label=name, color=COLOURS.get(name))
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(range(len(counts)), [f"{int(c):,} users" for c in counts])
    ax.set_ylabel("records / s (median)")
    ax.set_title("Tap throughput (output to /dev/null)")
    ax.legend()

    ax = axes[1]
    points = results.get("tap_memory", {}).get("points", [])
    if points:
        bars = ax.bar(
            [f"{p['users']:,}" for p in points],
            [p["median_max_rss_mb"] for p in points],
            color=COLOURS["tap"],
        )
        ax.bar_label(bars, fmt="%.0f MB", fontsize=8)
    ax.set_xlabel("users")
    ax.set_ylabel("peak RSS (MB)")
    ax.set_title("Tap peak memory")

    ax = axes[2]
    target = results.get("target", {})
    if target:
        calls = target["calls_per_user"]
        labels = ["changed user", "unchanged user"]
        values = [calls["changed"]["calls_per_user"], calls["unchanged"]["calls_per_user"]]
        bars = ax.bar(labels, values, color=["#2ca02c", "#98df8a"])
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.plot([-0.4, 0.4], [2, 2], "k--", linewidth=1)
        ax.plot([0.6, 1.4], [1, 1], "k--", linewidth=1)
        b, s = target["budget"], target["speedup"]
        use = "n/a" if b.get("budget_use") is None else f"{100 * b['budget_use']:.1f}%"
        ax.text(
            0.98,
            0.97,
            f"budget use {use}, 429s {b['rate_limited']}\n"
            f"speed-up vs serial @50 ms: {s['speedup_wall']}x",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
        )
        ax.set_ylim(0, max([*values, 2.0]) * 1.35)
    ax.set_ylabel("API calls per user (dashed: target)")
    ax.set_title("Target API use")

    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
