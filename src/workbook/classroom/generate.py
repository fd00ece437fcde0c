"""Prepared practice notebooks for a class or a workshop: `workbook generate`.

Each notebook is the practice notebook with its parameters injected by papermill
(`notebooks.prepare_practice_notebook`), not run, so learners open it clean.

With an instructor's own scenario folder (`--exercises DIR`), its scenario files
are copied into `OUT/scenarios/` and each notebook's `exercises` parameter names
that folder, relative to the notebook: the output folder is self-contained, to
be copied to a hub, zipped for a workshop or committed to a Binder repository.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from ..notebooks import prepare_practice_notebook
from ..scenario import folder_scenario_files


SCENARIOS_FOLDER = "scenarios"  # inside the output folder, next to the notebooks


def _copy_scenarios(folder: str | os.PathLike, out: Path) -> str:
    """The instructor's scenario files, copied next to the notebooks; returns the folder as the notebooks name it."""
    target = out / SCENARIOS_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for path in folder_scenario_files(Path(folder)):
        shutil.copyfile(path, target / path.name)
    return SCENARIOS_FOLDER


def generate(
    scenario_ids: list[str], out: str | os.PathLike, *, mode: str = "practice", minutes: float = 45,
    exercises: str | os.PathLike | None = None, progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """One notebook per scenario in `out` (existing ones replaced); returns their paths."""
    made = []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = _copy_scenarios(exercises, out) if exercises is not None else None
    for done, scenario_id in enumerate(scenario_ids, start=1):
        path, _ = prepare_practice_notebook(
            scenario_id, mode=mode, time_limit_minutes=minutes, work=out, overwrite=True, exercises=folder
        )
        made.append(path)
        if progress is not None:
            progress(done, len(scenario_ids))
    return made
