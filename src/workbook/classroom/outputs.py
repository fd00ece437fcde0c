"""The files `workbook grade` writes: gradebook.csv, canvas.csv, errors.csv, superseded.csv, summary.json.

CSV cells that start like a spreadsheet formula (`=`, `+`, `-`, `@`, tab, CR) are
written with a leading `'`, so a learner name cannot run as a formula when the
gradebook is opened in a spreadsheet.

canvas.csv follows the Canvas gradebook import layout: the columns `Student`,
`ID`, `SIS User ID`, `SIS Login ID`, `Section`, then one column per scenario
(an assignment, titled `workbook: <scenario id>`), a `Points Possible` row first,
and one row per learner. Canvas matches a row to a student by `ID`, else by the
SIS ids; the workbook knows only the learner's name, so `Student` and
`SIS Login ID` hold it and `ID` is left empty for Canvas to match by login.
Totals are out of 100.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from pathlib import Path

from ..answers import atomic_write_text
from ..steps import STEP_IDS
from .grading import Graded, Row

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
GRADEBOOK_COLUMNS = ["learner", "scenario", "total", *STEP_IDS, "anti_patterns", "contested_misses", "overrides", "grader", "graded_at"]
TOP = 10


def cell(value: object) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


class _Lines:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    buffer = _Lines()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[cell(v) for v in row] for row in rows])
    atomic_write_text(path, "".join(buffer.parts))


def gradebook_rows(graded: Graded) -> list[list[object]]:
    return [
        [r.learner, r.scenario, r.total, *[r.steps[s] for s in STEP_IDS], len(r.anti_patterns), len(r.contested), r.overrides, r.grader, r.graded_at]
        for r in graded.rows
    ]


def write_gradebook(out: Path, graded: Graded) -> None:
    _csv(out / "gradebook.csv", GRADEBOOK_COLUMNS, gradebook_rows(graded))


def write_canvas(out: Path, graded: Graded) -> None:
    scenarios = sorted({r.scenario for r in graded.rows})
    learners: dict[str, dict[str, float]] = {}
    for r in graded.rows:
        learners.setdefault(r.learner, {})[r.scenario] = r.total
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *[f"workbook: {s}" for s in scenarios]]
    rows: list[list[object]] = [["Points Possible", "", "", "", "", *[100 for _ in scenarios]]]
    rows += [[name, "", "", name, "", *[totals.get(s, "") for s in scenarios]] for name, totals in learners.items()]
    _csv(out / "canvas.csv", header, rows)


def write_errors(out: Path, graded: Graded) -> None:
    rows = [[r.file, r.reason] for r in graded.rejected] + [["overrides", line] for line in graded.problems]
    _csv(out / "errors.csv", ["file", "reason"], rows)


def write_superseded(out: Path, graded: Graded) -> None:
    rows = [[old.learner, old.scenario, old.file, _when(old.saved_at), kept.file, _when(kept.saved_at)] for old, kept in graded.superseded]
    _csv(out / "superseded.csv", ["learner", "scenario", "file", "saved_at", "kept_file", "kept_saved_at"], rows)


def _when(stamp: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(stamp))


def summary(graded: Graded) -> dict:
    rows = graded.rows
    steps = {}
    for step in STEP_IDS:
        values = [r.steps[step] for r in rows]
        steps[step] = {
            "mean": round(statistics.fmean(values), 1) if values else None,
            "median": round(statistics.median(values), 1) if values else None,
            "share_below_50": round(sum(v < 50 for v in values) / len(values), 3) if values else None,
        }
    anti = Counter((i, t) for r in rows for i, t in r.anti_patterns)
    missed = Counter((r.scenario, s, c) for r in rows for s, c, _ in r.missed)
    descriptions = {(r.scenario, s, c): d for r in rows for s, c, d in r.missed}
    contested = Counter((r.scenario, s, c) for r in rows for s, c in r.contested)
    return {
        "submissions": len(rows),
        "learners": len({r.learner for r in rows}),
        "rejected": len(graded.rejected),
        "superseded": len(graded.superseded),
        "override_problems": len(graded.problems),
        "total": {
            "mean": round(statistics.fmean(r.total for r in rows), 1) if rows else None,
            "median": round(statistics.median(r.total for r in rows), 1) if rows else None,
        },
        "steps": steps,
        "anti_patterns": [{"id": i, "title": t, "count": n} for (i, t), n in anti.most_common(TOP)],
        "missed_criteria": [
            {"scenario": sc, "step": s, "criterion": c, "description": descriptions[(sc, s, c)], "count": n}
            for (sc, s, c), n in missed.most_common(TOP)
        ],
        "contested_misses": [
            {"scenario": sc, "step": s, "criterion": c, "description": descriptions.get((sc, s, c), ""), "count": n}
            for (sc, s, c), n in sorted(contested.items(), key=lambda item: (-item[1], item[0]))
        ],
    }


def write_summary(out: Path, data: dict) -> None:
    atomic_write_text(out / "summary.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_gradebook(out: Path) -> list[dict]:
    """The gradebook as dicts (the dashboard's class table)."""
    with open(out / "gradebook.csv", encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


__all__ = ["GRADEBOOK_COLUMNS", "Row", "cell", "read_gradebook", "summary", "write_canvas", "write_errors", "write_gradebook", "write_summary", "write_superseded"]
