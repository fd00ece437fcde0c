"""The class charts (PNG, matplotlib's Agg backend; `pip install "workbook[instructor]"`).

* heatmap.png: one row per submission, one column per step, colour = score (red low, green high);
* steps.png: each step's mean with the spread between the 25th and 75th percentile;
* missed.png: the criteria missed most often, as horizontal bars.

Learner and author text in labels goes through `label`, which escapes `$` (so it
never switches matplotlib into mathtext) and drops control characters.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from pathlib import Path

from ..steps import STEP_IDS, STEPS_BY_ID
from .grading import Row

MAX_LABELLED_ROWS = 60
MAX_BANDS = 200  # heatmap rows at most: memory and pixels stay flat however big the class
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed: the message names the extra."""


def label(text: str, limit: int = 60) -> str:
    text = _CONTROL.sub(" ", str(text)).strip()
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("\\", "\\\\").replace("$", r"\$")


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ChartsUnavailable('charts need matplotlib: pip install "workbook[instructor]"') from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _bands(ordered: list[Row], limit: int) -> tuple[list[list[float]], int]:
    """Rows of step scores; beyond `limit` submissions, consecutive ones are averaged into `limit` bands."""
    if len(ordered) <= limit:
        return [[r.steps[s] for s in STEP_IDS] for r in ordered], 1
    size = -(-len(ordered) // limit)
    bands = []
    for start in range(0, len(ordered), size):
        group = ordered[start : start + size]
        bands.append([statistics.fmean(r.steps[s] for r in group) for s in STEP_IDS])
    return bands, size


def heatmap(rows: list[Row], path: Path) -> Path:
    plt = _pyplot()
    ordered = sorted(rows, key=lambda r: -r.total)
    data, size = _bands(ordered, MAX_BANDS)
    data = data or [[0.0] * len(STEP_IDS)]
    height = min(12.0, 1.5 + 0.22 * max(len(data), 4))  # a big class is one tall strip, not 500 labels
    fig, ax = plt.subplots(figsize=(9, height))
    image = ax.imshow(data, aspect="auto", cmap="RdYlGn", vmin=0, vmax=100, interpolation="nearest")
    ax.set_xticks(range(len(STEP_IDS)), [label(STEPS_BY_ID[s].title, 26) for s in STEP_IDS], rotation=30, ha="right")
    if len(ordered) <= MAX_LABELLED_ROWS:
        ax.set_yticks(range(len(ordered)), [label(f"{r.learner} · {r.scenario}", 48) for r in ordered])
    else:
        ax.set_yticks([])
        each = f"; each row averages {size}" if size > 1 else ""
        ax.set_ylabel(f"{len(ordered)} submissions, best total at the top{each}")
    ax.set_title("Step scores per submission (red: low, green: high)")
    fig.colorbar(image, ax=ax, label="score", shrink=0.6)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def step_spread(rows: list[Row], path: Path) -> Path:
    plt = _pyplot()
    means, lows, highs = [], [], []
    for step in STEP_IDS:
        values = sorted(r.steps[step] for r in rows) or [0.0]
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
        mean = statistics.fmean(values)
        means.append(mean)
        lows.append(max(0.0, mean - quartiles[0]))
        highs.append(max(0.0, quartiles[2] - mean))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    titles = [label(STEPS_BY_ID[s].title, 26) for s in STEP_IDS]
    colours = ["#d32f2f" if m < 50 else "#f57c00" if m < 70 else "#388e3c" for m in means]
    ax.bar(titles, means, color=colours, yerr=[lows, highs], capsize=5, ecolor="#333")
    ax.axhline(50, color="#555", linestyle="--", linewidth=1)
    ax.set_ylim(0, 100)
    ax.set_ylabel("mean score (bars: middle half of the class)")
    ax.set_title("Which steps the class finds hard (dashed line: 50)")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def top_missed(rows: list[Row], path: Path, count: int = 12) -> Path:
    plt = _pyplot()
    missed = Counter((s, d) for r in rows for s, _, d in r.missed).most_common(count)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.45 * max(len(missed), 2)))
    names = [label(f"{STEPS_BY_ID[s].title}: {d}", 70) for (s, d), _ in missed][::-1]
    values = [n for _, n in missed][::-1]
    ax.barh(names or ["(nothing missed)"], values or [0], color="#1976d2")
    ax.set_xlabel("submissions that missed it")
    ax.set_title("Criteria missed most often")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_charts(rows: list[Row], out: Path) -> list[Path]:
    folder = out / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    return [heatmap(rows, folder / "heatmap.png"), step_spread(rows, folder / "steps.png"), top_missed(rows, folder / "missed.png")]
