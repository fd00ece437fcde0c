"""Grading a class: read every file, grade each answer set, apply overrides, write its feedback page.

Two passes over the files, in chunks, in this process (`jobs=1`) or spread over a
`ProcessPoolExecutor`. The first reads every file and keeps only who saved which
scenario when (`Seen`), so the latest save of each learner and scenario is known
before anything is graded; the second grades those alone. Each becomes an
`Outcome`: a small gradebook row (scores, counts, ids of what was missed) or a
rejection. The worker writes the feedback page under its final name at once, so
nothing but the rows stays in memory.
"""

from __future__ import annotations

import gc
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..report import Report
from ..steps import STEP_IDS
from .inputs import Rejected, Submission, read_submission
from .overrides import Override, Overrides
from .pages import feedback_page, report_name

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
    report_file: str = ""  # the feedback page, relative to the output folder


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


def write_page(sub: Submission, report: Report, scenario, row: Row, applied: list[Override], options: Options) -> str:
    """The feedback page, under its final name; returns that name relative to the output folder."""
    name = f"reports/{report_name(sub.learner, sub.answers.scenario)}"
    page = feedback_page(scenario, sub.answers, report, row, applied, include_reference=options.include_reference)
    (Path(options.out) / name).write_text(page, encoding="utf-8")
    return name


@dataclass(slots=True)
class Seen:
    """What the first pass keeps of a readable file: enough to pick each learner's latest save."""

    index: int
    file: str
    learner: str
    scenario: str
    saved_at: float

    @property
    def key(self) -> tuple[str, str]:
        return self.learner, self.scenario


def scan_chunk(items: list[tuple[int, str]]) -> list[Seen | Outcome]:
    """First pass: read each file; a readable one becomes a Seen (its answers are dropped), a bad one a rejection."""
    seen: list[Seen | Outcome] = []
    for index, file in items:
        sub = read_submission(Path(file))
        if isinstance(sub, Rejected):
            seen.append(Outcome(index, rejected=sub))
        else:
            seen.append(Seen(index, file, sys.intern(sub.learner), sys.intern(sub.answers.scenario), sub.saved_at))
    return seen


def latest_saves(seen: list[Seen]) -> tuple[list[Seen], list[tuple[Seen, Seen]]]:
    """The latest save per (learner, scenario), in file order, and each older save with the one kept instead."""
    latest: dict[tuple[str, str], Seen] = {}
    for item in seen:
        kept = latest.get(item.key)
        if kept is None or (item.saved_at, item.file) > (kept.saved_at, kept.file):
            latest[item.key] = item
    older = [(item, latest[item.key]) for item in seen if latest[item.key] is not item]
    older.sort(key=lambda pair: (pair[0].learner, pair[0].scenario, pair[0].saved_at))
    return sorted(latest.values(), key=lambda item: item.index), older


def grade_chunk(items: list[tuple[int, str]], options: Options) -> list[Outcome]:
    """Read, grade (offline or any per-submission grader) and render each file of a chunk."""
    from ..graders import get_grader

    grader = get_grader(options.grader)
    outcomes = []
    scenarios: dict[str, object] = {}  # a chunk holds a few scenarios many times: find each file once
    for index, file in items:
        sub = read_submission(Path(file))
        if isinstance(sub, Rejected):
            outcomes.append(Outcome(index, rejected=sub))
            continue
        scenario = scenarios.get(sub.answers.scenario)
        if scenario is None:
            try:
                scenario = scenarios[sub.answers.scenario] = _scenario(sub.answers.scenario, options.exercises)
            except Exception as error:  # noqa: BLE001 - an unknown scenario is this submission's problem only
                outcomes.append(Outcome(index, rejected=Rejected(file, _line(f"{Path(file).name}: {error}"))))
                continue
        try:
            report = grader.grade(sub.answers, scenario)
        except Exception as error:  # noqa: BLE001 - one submission that breaks the grader must not stop the class
            outcomes.append(Outcome(index, rejected=Rejected(file, _line(f"{Path(file).name}: the grader failed: {error}"))))
            continue
        row, applied = make_row(sub, report, scenario, options)
        row.report_file = write_page(sub, report, scenario, row, applied, options)
        outcomes.append(Outcome(index, row=row))
    return outcomes


def _line(text: str) -> str:
    from ..textsafe import one_line

    return one_line(text)[:300]


def _chunks(items: list, jobs: int, largest: int) -> Iterator[list]:
    """Chunks that shrink towards the end (guided scheduling), so no process is left with a big last chunk."""
    start = 0
    while start < len(items):
        size = max(1, min(largest, (len(items) - start) // (4 * jobs)))
        yield items[start : start + size]
        start += size


@dataclass
class Pass:
    """The outcome of both passes: graded rows and rejections in file order, and the saves set aside."""

    outcomes: list[Outcome]
    superseded: list[tuple[Seen, Seen]]


def process_context():
    """fork where it is safe (one thread: the forked copy starts with what is loaded), else spawn (a Jupyter kernel runs threads)."""
    import multiprocessing
    import threading

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _warm_up(scenario_ids: set[str], options: Options) -> None:
    """Load and compile the class's rubrics once, before the workers are forked, so each does not do it again.

    Only for the offline grader and forked workers; leaves the collector frozen until the fork (`grade_files` unfreezes it).
    """
    if options.grader != "offline":
        return  # another grader's first call may cost money or time; it warms up in each worker
    from ..answers import answers_from_dict
    from ..graders import get_grader

    grader = get_grader("offline")
    for scenario_id in sorted(scenario_ids):
        try:
            grader.grade(answers_from_dict({"scenario": scenario_id, "answers": {}}, "warm-up"), _scenario(scenario_id, options.exercises))
        except Exception:  # noqa: BLE001 - an unknown scenario is reported per submission by the worker
            continue
    gc.freeze()  # the forked workers share these objects instead of copying pages the collector touches


def grade_files(
    files: list[Path], options: Options, *, jobs: int = 1, progress: Callable[[int, int], None] | None = None
) -> Pass:
    """Pick each learner's latest save (a cheap read of every file, in this process), then grade only those, in `jobs` processes.

    Older saves are never graded: a class that hands in the notebook and its answers
    file costs one grading per learner, not two.
    """
    first = scan_chunk([(index, str(path)) for index, path in enumerate(files)])
    outcomes = [item for item in first if isinstance(item, Outcome)]
    kept, older = latest_saves([item for item in first if isinstance(item, Seen)])
    del first
    todo = [(item.index, item.file) for item in kept]
    done, total = len(outcomes) + len(older), len(files)
    if progress is not None:
        progress(done, total)
    pool = None
    if jobs > 1 and len(todo) > CHUNK:
        context = process_context()
        if context.get_start_method() == "fork":
            _warm_up({item.scenario for item in kept}, options)
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    try:
        chunks = list(_chunks(todo, jobs, CHUNK))
        if pool is not None:
            batches = pool.map(grade_chunk, chunks, [options] * len(chunks))
            gc.unfreeze()  # the workers exist now (map submits every chunk at once); this process collects as usual again
        else:
            batches = (grade_chunk(chunk, options) for chunk in chunks)
        for batch in batches:
            for outcome in batch:
                if outcome.row is not None:
                    _compact(outcome.row)  # as they arrive, so unpickled copies never pile up
            outcomes.extend(batch)
            done += len(batch)
            if progress is not None:
                progress(done, total)
    finally:
        if pool is not None:
            pool.shutdown()
    outcomes.sort(key=lambda outcome: outcome.index)
    return Pass(outcomes, older)


def grade_files_claude(files: list[Path], options: Options, *, progress=None, confirm=None) -> Pass:
    """Each learner's latest save, graded in one Message Batch (`graders.batch.grade_class`), then rendered."""
    from ..graders import get_grader
    from ..graders.batch import grade_class

    first = scan_chunk([(index, str(path)) for index, path in enumerate(files)])
    outcomes = [item for item in first if isinstance(item, Outcome)]
    kept, older = latest_saves([item for item in first if isinstance(item, Seen)])
    subs: dict[str, tuple[int, Submission]] = {}
    scenarios = {}
    for item in kept:
        sub = read_submission(Path(item.file))
        if isinstance(sub, Rejected):
            outcomes.append(Outcome(item.index, rejected=sub))
            continue
        try:
            scenarios.setdefault(sub.answers.scenario, _scenario(sub.answers.scenario, options.exercises))
        except Exception as error:  # noqa: BLE001
            outcomes.append(Outcome(item.index, rejected=Rejected(item.file, _line(f"{Path(item.file).name}: {error}"))))
            continue
        subs[f"{item.index:07d}"] = (item.index, sub)
    grader = get_grader("claude")
    status = (lambda state, counts: progress(0, len(files))) if progress else None
    result = grade_class({key: sub.answers for key, (_, sub) in subs.items()}, scenarios, options.out, grader, confirm=confirm, progress=status)
    done = len(outcomes) + len(older)
    for key, (index, sub) in subs.items():
        report = result.reports[key]
        scenario = scenarios[sub.answers.scenario]
        row, applied = make_row(sub, report, scenario, options)
        row.report_file = write_page(sub, report, scenario, row, applied, options)
        outcomes.append(Outcome(index, row=row))
        done += 1
        if progress:
            progress(done, len(files))
    outcomes.sort(key=lambda outcome: outcome.index)
    return Pass(outcomes, older)


@dataclass
class Graded:
    rows: list[Row]
    superseded: list[tuple[Seen, Seen]]  # (older save, the save kept)
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


def finish(graded: Pass, options: Options) -> Graded:
    """The rows in learner order, the saves set aside, the rejections and the override rows that matched nothing."""
    rows = sorted((o.row for o in graded.outcomes if o.row is not None), key=lambda r: (r.learner.casefold(), r.learner, r.scenario))
    rejected = [o.rejected for o in graded.outcomes if o.rejected is not None]
    problems = list(options.overrides.problems) + options.overrides.unmatched({(r.learner, r.scenario) for r in rows})
    return Graded(rows, graded.superseded, rejected, problems)


def now_stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
