"""Grading a class: read every file, grade each answer set, apply overrides, write its feedback page.

The work is done in chunks of files, in this process (`jobs=1`) or spread over a
`ProcessPoolExecutor`. Each file becomes an `Outcome`: a small gradebook row
(scores, counts, ids of what was missed) or a rejection. The feedback page is
written by the worker to a pending name at once, so nothing but the rows stays in
memory; `finish` then keeps the latest save of each learner and scenario and
gives its page the final name.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..report import Report
from ..steps import STEP_IDS
from .inputs import Rejected, Submission, read_submission
from .overrides import Override, Overrides
from .pages import PENDING, feedback_page, report_name

CHUNK = 25  # files per task: big enough that sending work to a process costs little


@dataclass
class Options:
    out: str
    grader: str = "offline"
    exercises: str | None = None
    include_reference: bool = False
    overrides: Overrides = field(default_factory=Overrides)
    graded_at: str = ""


@dataclass(slots=True)
class Row:
    """One graded submission, as the gradebook, the summary and the charts need it."""

    learner: str
    scenario: str
    total: float
    steps: dict[str, float]
    anti_patterns: list[tuple[str, str]]  # (id, title)
    missed: list[tuple[str, str, str]]  # (step, criterion id, description): not met
    contested: list[tuple[str, str]]  # (step, criterion id): not met, but the learner claims it
    overrides: int
    grader: str
    graded_at: str
    file: str
    kind: str
    saved_at: float
    pending: str = ""  # the feedback page, under its pending name
    report_file: str = ""  # its final name, relative to the output folder


@dataclass(slots=True)
class Outcome:
    index: int
    row: Row | None = None
    rejected: Rejected | None = None


def _scenario(scenario_id: str, exercises: str | None):
    from ..scenario import load_scenario

    return load_scenario(scenario_id, exercises)


def apply_overrides(report: Report, scenario, rows: list[Override]) -> tuple[float, dict[str, float], list[Override]]:
    """The total and step scores after the instructor's rows; the total moves by each step's weighted change."""
    specs = scenario.step_specs()
    weights = {step: (specs[step].weight if step in specs else 1.0) for step in report.steps}
    scores = {step: report.steps[step].score for step in report.steps}
    total = report.total
    for row in rows:
        if row.score is None or row.step not in scores:
            continue
        total += (row.score - scores[row.step]) * weights[row.step] / sum(weights.values())
        scores[row.step] = row.score
    return round(max(0.0, min(100.0, total)), 1), scores, rows


def make_row(sub: Submission, report: Report, scenario, options: Options) -> tuple[Row, list[Override]]:
    mine = options.overrides.for_submission(sub.learner, sub.answers.scenario)
    total, scores, applied = apply_overrides(report, scenario, mine)
    unmet = {(step.step, c.id) for step in report.steps.values() for c in step.criteria if not c.met}
    contested = sorted({(c.step, c.criterion) for c in sub.answers.claims if (c.step, c.criterion) in unmet})
    row = Row(
        learner=sub.learner,
        scenario=sub.answers.scenario,
        total=total,
        steps={step: round(scores.get(step, 0.0), 1) for step in STEP_IDS},
        anti_patterns=[(hit.id, hit.title) for hit in report.anti_patterns],
        missed=[(step.step, c.id, c.description) for step in report.steps.values() for c in step.criteria if not c.met],
        contested=contested,
        overrides=len(applied),
        grader=report.grader,
        graded_at=options.graded_at,
        file=sub.file,
        kind=sub.kind,
        saved_at=sub.saved_at,
    )
    return row, applied


def write_pending(index: int, sub: Submission, report: Report, scenario, row: Row, applied: list[Override], options: Options) -> str:
    folder = Path(options.out) / PENDING
    folder.mkdir(parents=True, exist_ok=True)
    page = feedback_page(scenario, sub.answers, report, row, applied, include_reference=options.include_reference)
    path = folder / f"{index:07d}.html"
    path.write_text(page, encoding="utf-8")
    return str(path)


def grade_chunk(items: list[tuple[int, str]], options: Options) -> list[Outcome]:
    """Read, grade (offline or any per-submission grader) and render each file of a chunk."""
    from ..graders import get_grader

    grader = get_grader(options.grader)
    outcomes = []
    for index, file in items:
        sub = read_submission(Path(file))
        if isinstance(sub, Rejected):
            outcomes.append(Outcome(index, rejected=sub))
            continue
        try:
            scenario = _scenario(sub.answers.scenario, options.exercises)
        except Exception as error:  # noqa: BLE001 - an unknown scenario is this submission's problem only
            outcomes.append(Outcome(index, rejected=Rejected(file, _line(f"{Path(file).name}: {error}"))))
            continue
        try:
            report = grader.grade(sub.answers, scenario)
        except Exception as error:  # noqa: BLE001 - one submission that breaks the grader must not stop the class
            outcomes.append(Outcome(index, rejected=Rejected(file, _line(f"{Path(file).name}: the grader failed: {error}"))))
            continue
        row, applied = make_row(sub, report, scenario, options)
        row.pending = write_pending(index, sub, report, scenario, row, applied, options)
        outcomes.append(Outcome(index, row=row))
    return outcomes


def _line(text: str) -> str:
    from ..textsafe import one_line

    return one_line(text)[:300]


def _chunks(files: list[Path]) -> Iterator[list[tuple[int, str]]]:
    items = [(index, str(path)) for index, path in enumerate(files)]
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def grade_files(
    files: list[Path], options: Options, *, jobs: int = 1, progress: Callable[[int, int], None] | None = None
) -> list[Outcome]:
    """Every file's outcome, in file order, whatever the number of processes."""
    outcomes: list[Outcome] = []
    done = 0
    chunks = list(_chunks(files))

    def seen(batch: Iterable[Outcome]) -> None:
        nonlocal done
        batch = list(batch)
        for outcome in batch:
            if outcome.row is not None:
                _compact(outcome.row)  # as they arrive, so unpickled copies never pile up
        outcomes.extend(batch)
        done += len(batch)
        if progress is not None:
            progress(done, len(files))

    if jobs <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            seen(grade_chunk(chunk, options))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for batch in pool.map(grade_chunk, chunks, [options] * len(chunks)):
                seen(batch)
    outcomes.sort(key=lambda outcome: outcome.index)
    return outcomes


def grade_files_claude(files: list[Path], options: Options, *, progress=None, confirm=None) -> list[Outcome]:
    """Read everything, grade the class in one Message Batch (`graders.batch.grade_class`), then render."""
    from ..graders import get_grader
    from ..graders.batch import grade_class

    subs: dict[str, tuple[int, Submission]] = {}
    outcomes: list[Outcome] = []
    scenarios = {}
    for index, file in enumerate(files):
        sub = read_submission(file)
        if isinstance(sub, Rejected):
            outcomes.append(Outcome(index, rejected=sub))
            continue
        try:
            scenarios.setdefault(sub.answers.scenario, _scenario(sub.answers.scenario, options.exercises))
        except Exception as error:  # noqa: BLE001
            outcomes.append(Outcome(index, rejected=Rejected(str(file), _line(f"{file.name}: {error}"))))
            continue
        subs[f"{index:07d}"] = (index, sub)
    grader = get_grader("claude")
    status = (lambda state, counts: progress(0, len(files))) if progress else None
    result = grade_class({key: sub.answers for key, (_, sub) in subs.items()}, scenarios, options.out, grader, confirm=confirm, progress=status)
    for key, (index, sub) in subs.items():
        report = result.reports[key]
        scenario = scenarios[sub.answers.scenario]
        row, applied = make_row(sub, report, scenario, options)
        row.pending = write_pending(index, sub, report, scenario, row, applied, options)
        outcomes.append(Outcome(index, row=row))
        if progress:
            progress(len(outcomes), len(files))
    outcomes.sort(key=lambda outcome: outcome.index)
    return outcomes


@dataclass
class Graded:
    rows: list[Row]
    superseded: list[tuple[Row, Row]]  # (older save, the save kept)
    rejected: list[Rejected]
    problems: list[str]  # override rows that could not be applied


_SHARED: dict[tuple, tuple] = {}


def _shared(items: list[tuple]) -> list[tuple]:
    """One copy of each (step, criterion, description) tuple however many rows hold it."""
    return [_SHARED.setdefault(item, item) for item in ((*map(sys.intern, item),) for item in items)]


def _compact(row: Row) -> Row:
    """Share what every row repeats (ids, titles, descriptions): a row costs its numbers and pointers, not rubric copies."""
    intern = sys.intern
    row.scenario, row.grader, row.graded_at, row.kind = map(intern, (row.scenario, row.grader, row.graded_at, row.kind))
    row.steps = {intern(k): v for k, v in row.steps.items()}
    row.anti_patterns = _shared(row.anti_patterns)
    row.missed = _shared(row.missed)
    row.contested = _shared(row.contested)
    return row


def finish(outcomes: list[Outcome], options: Options) -> Graded:
    """Keep the latest save per (learner, scenario); name its page; drop the others' pages."""
    latest: dict[tuple[str, str], Row] = {}
    older: list[Row] = []
    rejected = [o.rejected for o in outcomes if o.rejected is not None]
    for outcome in outcomes:
        row = outcome.row
        if row is None:
            continue
        key = (row.learner, row.scenario)
        kept = latest.get(key)
        if kept is None or (row.saved_at, row.file) > (kept.saved_at, kept.file):
            if kept is not None:
                older.append(kept)
            latest[key] = row
        else:
            older.append(row)
    out = Path(options.out)
    for row in older:
        Path(row.pending).unlink(missing_ok=True)
    for row in latest.values():
        row.report_file = f"reports/{report_name(row.learner, row.scenario)}"
        os.replace(row.pending, out / row.report_file)
    try:
        (out / PENDING).rmdir()
    except OSError:
        pass
    rows = sorted(latest.values(), key=lambda r: (r.learner.casefold(), r.learner, r.scenario))
    superseded = sorted(((row, latest[(row.learner, row.scenario)]) for row in older), key=lambda pair: (pair[0].learner, pair[0].scenario, pair[0].saved_at))
    problems = list(options.overrides.problems) + options.overrides.unmatched(set(latest))
    return Graded(rows, superseded, rejected, problems)


def now_stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
