"""Class grading: `workbook grade` and the instructor dashboard.

    from workbook.classroom import grade_class_folder
    result = grade_class_folder(["submissions/"], "graded/", jobs=2)

Answers are graded as data: answers files and saved practice notebooks are read,
never run (see `workbook.carry` for how a notebook carries its answers). Modules:
`inputs` (finding and reading submissions), `grading` (grading in processes, the
latest save per learner), `overrides`, `pages` (feedback pages and safe names),
`outputs` (CSV and JSON files), `charts` (PNG), `dashboard` (the notebook's views),
`generate` (prepared practice notebooks for a class).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .grading import Graded, Options, finish, grade_files, grade_files_claude, now_stamp
from .inputs import discover
from .overrides import Overrides


@dataclass
class GradeResult:
    graded: Graded
    out: Path
    charts: list[Path]
    summary: dict
    chart_problem: str = ""  # the charts could not be drawn (everything else was written)

    @property
    def clean(self) -> bool:
        return not self.graded.rejected and not self.graded.problems and not self.chart_problem


def grade_class_folder(
    paths: list[str | os.PathLike],
    out: str | os.PathLike,
    *,
    grader: str = "offline",
    overrides: Overrides | None = None,
    include_reference: bool = False,
    jobs: int = 1,
    exercises: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    confirm=None,
    charts: bool = True,
) -> GradeResult:
    from . import outputs

    out_dir = Path(out)
    (out_dir / "reports").mkdir(parents=True, exist_ok=True)
    files, missing = discover(paths)
    options = Options(str(out_dir), grader, exercises, include_reference, overrides or Overrides(), now_stamp())
    painter = None
    if charts:
        from .charts import ChartProcess

        painter = ChartProcess(out_dir)  # imports matplotlib while the class is graded
    try:
        if grader == "claude":
            passes = grade_files_claude(files, options, progress=progress, confirm=confirm)
        else:
            passes = grade_files(files, options, jobs=jobs, progress=progress)
        graded = finish(passes, options)
        graded.rejected = missing + graded.rejected
        outputs.write_gradebook(out_dir, graded)
        outputs.write_canvas(out_dir, graded)
        outputs.write_errors(out_dir, graded)
        outputs.write_superseded(out_dir, graded)
        data = outputs.summary(graded)
        outputs.write_summary(out_dir, data)
        drawn, chart_problem = [], ""
        if painter is not None:
            from .charts import ChartsUnavailable

            try:
                drawn = painter.draw(graded.rows)
            except ChartsUnavailable as error:  # the gradebook and pages are written: say so, do not throw them away
                chart_problem = str(error)
    finally:
        if painter is not None:
            painter.close()
    return GradeResult(graded, out_dir, drawn, data, chart_problem)


__all__ = ["GradeResult", "grade_class_folder"]
