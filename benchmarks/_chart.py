"""Draw the benchmark chart from run.py's JSON (run in the tools venv: needs matplotlib).

    python benchmarks/_chart.py results.json docs/benchmark.png

One panel per scenario, each with its own linear time axis (warm installs take
a tenth of a second, a pip install seconds: one shared axis would hide the former),
one bar per tool, labelled with the median and the ratio to fastinst.
"""

from __future__ import annotations

import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLORS = {"fastinst": "#d62728", "pip": "#1f77b4", "installer": "#9467bd", "uv": "#2ca02c"}
ORDER = ["fastinst", "uv", "pip", "installer"]
# scenario -> (competitor, fastinst's time over the competitor's at most): the targets
TARGETS = {"nocache": ("pip", 0.25), "cold": ("uv", 0.5), "warm-hardlink": ("uv", 0.8),
           "warm-copy": ("uv", 0.8)}  # fmt: skip


def main(src: str, dst: str) -> None:
    with open(src) as f:
        report = json.load(f)
    scenarios = [
        (name, res)
        for name, res in report["scenarios"].items()
        if any(row.get("median") for row in res["tools"].values())
    ]
    if not scenarios:
        raise SystemExit("no successful runs to draw")
    cols = 2
    rows = math.ceil(len(scenarios) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 1.0 + 1.75 * rows), squeeze=False)
    for ax in axes.flat[len(scenarios) :]:
        ax.set_visible(False)
    fi_verify = report["scenarios"].get("nocache", {}).get("tools", {}).get("fastinst")
    for ax, (name, res) in zip(axes.flat, scenarios):
        rows_ = dict(res["tools"])
        if name == "nocache-noverify" and fi_verify and fi_verify.get("median"):
            rows_ = {"fastinst": fi_verify, "fastinst, no verify": rows_["fastinst"]}
        res = dict(res, tools=rows_)
        tools = [t for t in [*ORDER, "fastinst, no verify"] if t in res["tools"]]
        y = list(range(len(tools)))[::-1]
        values = [res["tools"][t].get("median") or 0.0 for t in tools]
        ax.barh(y, values, color=[COLORS.get(t, "#f08080") for t in tools], height=0.7)
        # The fastest run: on a shared machine the least disturbed one.
        lows = [(yi, res["tools"][t].get("min")) for yi, t in zip(y, tools)]
        ax.plot([lo for _, lo in lows if lo], [yi for yi, lo in lows if lo], "|", color="black",
                markersize=11, markeredgewidth=1.5)  # fmt: skip
        top = max(values) or 1.0
        for yi, tool, value in zip(y, tools, values):
            row = res["tools"][tool]
            if not row.get("median"):
                text = "skipped" if "skipped" in row.get("error", "skipped") else "failed"
            else:
                text = f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
                if row.get("ratio_to_fastinst"):
                    text += f"  ({row['ratio_to_fastinst']:.1f}x fastinst)"
                if row.get("rss_mb"):
                    text += f"  {row['rss_mb']:.0f} MB"
                if row.get("install_median") is not None:
                    text += (
                        f"  (install() {row['install_median']:.2f} s, "
                        f"import {row['import_median'] * 1000:.0f} ms)"
                    )
            ax.text(value + top * 0.01, yi, text, va="center", fontsize=8)
        comp, limit = TARGETS.get(name, (None, 0.0))
        if comp and (res["tools"].get(comp) or {}).get("median"):
            goal = res["tools"][comp]["median"] * limit
            ax.axvline(goal, color=COLORS["fastinst"], linestyle="--", linewidth=1)
            ax.text(goal, len(tools) - 0.45, f" target {limit}x {comp}", fontsize=7,
                    color=COLORS["fastinst"], va="bottom")  # fmt: skip
        ax.set_ylim(-0.6, max(len(tools), 4) - 0.4)  # same bar thickness in every panel
        ax.set_yticks(y)
        ax.set_yticklabels(tools, fontsize=9)
        ax.set_xlim(0, top * 1.55)
        ax.set_title(f"{name}: {res['description']}", fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlabel("seconds (median)", fontsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    m, v = report["machine"], report["versions"]
    versions = ", ".join(f"{t} {v[t]}" for t in ORDER if t in v)
    fig.suptitle(
        f"Installing the 29-wheel corpus into a fresh venv ({report['runs']} runs: bars are "
        "medians, black ticks the fastest run)\n"
        f"{m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, workdir on "
        f"{report['workdir']['fs']} · {versions} · {report['date']}",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.96 if rows > 2 else 0.92))
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
