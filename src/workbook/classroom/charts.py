"""The class charts (PNG, matplotlib's Agg backend; `pip install "workbook[instructor]"`).

* heatmap.png: one row per submission, one column per step, colour = score (red low, green high);
* steps.png: each step's mean with the spread between the 25th and 75th percentile;
* missed.png: the criteria missed most often, as horizontal bars.

What the charts show is worked out from the rows first (`chart_data`: at most
`MAX_BANDS` heatmap rows, per-step means and quartiles, the top missed criteria),
so drawing costs the same for 30 submissions or 100,000. `ChartProcess` draws in
a process of its own, started before grading: matplotlib's import (most of the
cost of three small charts) then runs beside the grading instead of after it.

Learner and author text in labels goes through `label`, which escapes `$` (so it
never switches matplotlib into mathtext) and drops control characters.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import statistics
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..steps import STEP_IDS, STEPS_BY_ID
from .grading import Row

MAX_LABELLED_ROWS = 60
MAX_BANDS = 200  # heatmap rows at most: memory and pixels stay flat however big the class
TOP_MISSED = 12
NAMES = ("heatmap.png", "steps.png", "missed.png")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed (the message names the extra), or the charts could not be drawn."""


def label(text: str, limit: int = 60) -> str:
    text = _CONTROL.sub(" ", str(text)).strip()
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("\\", "\\\\").replace("$", r"\$")


def check_available() -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise ChartsUnavailable('charts need matplotlib: pip install "workbook[instructor]"')


@dataclass
class ChartData:
    """Everything the three charts draw, already reduced: small whatever the class size."""

    heat: list[list[float]]  # step scores, best total first; beyond MAX_BANDS rows, bands of averaged rows
    heat_labels: list[str]  # one per row when the class is small enough to label, else empty
    submissions: int
    band: int  # submissions per heatmap row
    spread: list[tuple[float, float, float]]  # per step: mean, mean - 25th percentile, 75th percentile - mean
    missed: list[tuple[str, int]]  # label (with 'n of m' submissions on its scenario), count; most missed first


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


def _spread(rows: list[Row]) -> list[tuple[float, float, float]]:
    spread = []
    for step in STEP_IDS:
        values = sorted(r.steps[step] for r in rows) or [0.0]
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
        mean = statistics.fmean(values)
        spread.append((mean, max(0.0, mean - quartiles[0]), max(0.0, quartiles[2] - mean)))
    return spread


def chart_data(rows: list[Row]) -> ChartData:
    ordered = sorted(rows, key=lambda r: -r.total)
    heat, band = _bands(ordered, MAX_BANDS)
    labels = [label(f"{r.learner} · {r.scenario}", 48) for r in ordered] if len(ordered) <= MAX_LABELLED_ROWS else []
    missed = Counter((r.scenario, s, d) for r in rows for s, _, d in r.missed).most_common(TOP_MISSED)
    attempts = Counter(r.scenario for r in rows)  # "4 of 4" reads differently from "4 of 60" in a mixed class
    return ChartData(
        heat=heat or [[0.0] * len(STEP_IDS)], heat_labels=labels, submissions=len(ordered), band=band, spread=_spread(rows),
        missed=[(label(f"{STEPS_BY_ID[s].title}: {d}", 60) + f" ({n} of {attempts[sc]})", n) for (sc, s, d), n in missed],
    )


def _figure(width: float, height: float, dpi: int):
    """A figure laid out at the resolution it is saved at: `tight_layout` measures text at the figure's dpi, so a
    figure laid out at another one leaves labels a few pixels from the edge, or over it."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, and PNGs go through Agg

    fig = Figure(figsize=(width, height), dpi=dpi)
    return fig, fig.subplots()


def _step_titles() -> list[str]:
    return [label(STEPS_BY_ID[s].title, 26) for s in STEP_IDS]


def heatmap(data: ChartData, path: Path) -> Path:
    height = min(12.0, 1.5 + 0.22 * max(len(data.heat), 4))  # a big class is one tall strip, not 500 labels
    fig, ax = _figure(9, height, dpi=80)
    image = ax.imshow(data.heat, aspect="auto", cmap="RdYlGn", vmin=0, vmax=100, interpolation="nearest")
    ax.set_xticks(range(len(STEP_IDS)), _step_titles(), rotation=30, ha="right")
    if data.heat_labels:
        ax.set_yticks(range(len(data.heat_labels)), data.heat_labels)
    else:
        ax.set_yticks([])
        each = f"; each row averages {data.band}" if data.band > 1 else ""
        ax.set_ylabel(f"{data.submissions} submissions, best total at the top{each}")
    ax.set_title("Step scores per submission (red: low, green: high)")
    fig.colorbar(image, ax=ax, label="score", shrink=0.6)
    fig.tight_layout()
    fig.savefig(path, dpi=fig.dpi)
    return path


def step_spread(data: ChartData, path: Path) -> Path:
    fig, ax = _figure(9, 4.5, dpi=90)
    means = [mean for mean, _, _ in data.spread]
    colours = ["#d32f2f" if m < 50 else "#f57c00" if m < 70 else "#388e3c" for m in means]
    spans = [[low for _, low, _ in data.spread], [high for _, _, high in data.spread]]
    ax.bar(range(len(STEP_IDS)), means, color=colours, yerr=spans, capsize=5, ecolor="#333")
    ax.set_xticks(range(len(STEP_IDS)), _step_titles(), rotation=30, ha="right")
    ax.axhline(50, color="#555", linestyle="--", linewidth=1)
    ax.set_ylim(0, 100)
    ax.set_ylabel("mean score (bars: middle half of the class)")
    ax.set_title("Which steps the class finds hard (dashed line: 50)")
    fig.tight_layout()
    fig.savefig(path, dpi=fig.dpi)
    return path


def top_missed(data: ChartData, path: Path) -> Path:
    from matplotlib.ticker import MaxNLocator

    fig, ax = _figure(10, 1.2 + 0.45 * max(len(data.missed), 2), dpi=90)
    names = [name for name, _ in data.missed][::-1] or ["(nothing missed)"]
    values = [n for _, n in data.missed][::-1] or [0]
    ax.barh(range(len(names)), values, color="#1976d2")
    ax.set_yticks(range(len(names)), names)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole submissions
    ax.set_xlabel("submissions that missed it (of those on its scenario)")
    ax.set_title("Criteria missed most often")
    fig.tight_layout()
    fig.savefig(path, dpi=fig.dpi)
    return path


def _fork_heatmap(data: ChartData, path: Path) -> int | None:
    """The heatmap drawn by a forked copy of this process (matplotlib already loaded); its pid, or None when forking is not safe here."""
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return None
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        heatmap(data, path)
        code = 0
    finally:
        os._exit(code)  # the copy only wrote its PNG: no clean-up of the parent's objects


def draw(data: ChartData, out: Path, *, split: bool = False) -> list[Path]:
    """The three PNGs in out/charts. With `split`, the heatmap (the costliest) is drawn by a forked copy of
    this process at the same time as the other two, when forking is possible and safe."""
    folder = out / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in NAMES]
    helper = _fork_heatmap(data, paths[0]) if split else None
    if helper is None:
        heatmap(data, paths[0])
    step_spread(data, paths[1])
    top_missed(data, paths[2])
    if helper is not None:
        _, status = os.waitpid(helper, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("the heatmap could not be drawn")
    return paths


def _serve(connection, out: str) -> None:
    """The chart process: import matplotlib at once, then draw what arrives and say how it went."""
    try:  # while the class is graded: the import, and a first small drawing (fonts, text layout, PNG writer)
        fig, ax = _figure(2, 1, dpi=40)
        ax.set_title("warm-up")
        ax.barh([0], [1])
        fig.savefig(io.BytesIO(), format="png", dpi=40)
    except Exception:  # noqa: BLE001 - a real failure is reported when the data arrives
        pass
    try:
        data = connection.recv()
    except EOFError:  # the run stopped before the charts
        return
    try:
        connection.send((True, [str(p) for p in draw(data, Path(out), split=True)]))
    except Exception as error:  # noqa: BLE001 - one line back to the run, never a traceback
        connection.send((False, f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


class ChartProcess:
    """Charts drawn by a child process started before grading; `draw(rows)` waits for the PNGs."""

    def __init__(self, out: Path) -> None:
        check_available()
        from .grading import process_context

        context = process_context()
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, str(out)), daemon=True, name="workbook-charts")
        self._process.start()
        child.close()

    def draw(self, rows: list[Row]) -> list[Path]:
        try:
            self._connection.send(chart_data(rows))
            ok, result = self._connection.recv()
        except (EOFError, OSError) as error:
            raise ChartsUnavailable(f"the chart process stopped before drawing: {error or 'no answer'}") from None
        finally:
            self.close()
        if not ok:
            raise ChartsUnavailable(f"charts could not be drawn: {result}")
        return [Path(p) for p in result]

    def close(self) -> None:
        self._connection.close()
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
