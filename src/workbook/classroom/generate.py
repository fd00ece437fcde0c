"""Prepared practice notebooks for a class or a workshop: `workbook generate`.

Each notebook is the practice notebook with its parameters injected by papermill
(`notebooks.prepare_practice_notebook`), not run, so learners open it clean.

With an instructor's own scenario folder (`--exercises DIR`), the notebooks are
prepared from that folder's scenarios. The form in a notebook finds its scenario
the way every workbook command does without `--exercises`: through
`$WORKBOOK_EXERCISES`, so the Jupyter server the learners use must have it set
to the same folder (`generate` prints the line to use).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator

from ..notebooks import prepare_practice_notebook
from ..scenario import EXERCISES_ENV


@contextlib.contextmanager
def _exercises_folder(folder: str | os.PathLike | None) -> Iterator[None]:
    """Scenarios read from `folder` while the notebooks are prepared (the preparation loads them by id)."""
    if folder is None:
        yield
        return
    before = os.environ.get(EXERCISES_ENV)
    os.environ[EXERCISES_ENV] = str(Path(folder).resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(EXERCISES_ENV, None)
        else:
            os.environ[EXERCISES_ENV] = before


def generate(
    scenario_ids: list[str], out: str | os.PathLike, *, mode: str = "practice", minutes: float = 45,
    exercises: str | os.PathLike | None = None, progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """One notebook per scenario in `out` (existing ones replaced); returns their paths."""
    made = []
    with _exercises_folder(exercises):
        for done, scenario_id in enumerate(scenario_ids, start=1):
            path, _ = prepare_practice_notebook(scenario_id, mode=mode, time_limit_minutes=minutes, work=out, overwrite=True)
            made.append(path)
            if progress is not None:
                progress(done, len(scenario_ids))
    return made
