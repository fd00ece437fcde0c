"""Prepared practice notebooks for a class or a workshop: `workbook generate`.

Each notebook is the practice notebook with its parameters injected by papermill
(`notebooks.prepare_practice_notebook`), not run, so learners open it clean.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..notebooks import prepare_practice_notebook


def generate(
    scenario_ids: list[str], out: str | os.PathLike, *, mode: str = "practice", minutes: float = 45,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """One notebook per scenario in `out` (existing ones replaced); returns their paths."""
    made = []
    for done, scenario_id in enumerate(scenario_ids, start=1):
        path, _ = prepare_practice_notebook(scenario_id, mode=mode, time_limit_minutes=minutes, work=out, overwrite=True)
        made.append(path)
        if progress is not None:
            progress(done, len(scenario_ids))
    return made
