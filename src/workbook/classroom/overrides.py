"""Instructor overrides: `learner, scenario, step, score, comment` rows, and a bank of reusable comments.

* `step` is a step id (`safety_checks`), its number (`5`) or its title (`Safety checks`,
  any case); empty means a comment on the whole submission (no score).
* `score` (0-100, a trailing `%` allowed) replaces the grader's step score; empty keeps
  it (a comment only).
* Commas or semicolons separate the columns (spreadsheets in many locales save `;`).
* `comment` is free text, or `@id` naming a comment in the `--comments` bank
  (a CSV of `id, text` or a JSON object id -> text); several `@id`s may be given,
  separated by spaces, and are joined.

Every row that cannot be applied is kept as a problem line naming the file and
line (an unknown step or comment id while reading, an unknown learner or scenario
after grading), never dropped in silence.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..safeio import read_bounded
from ..steps import STEP_IDS, STEPS

MAX_FILE_BYTES = 5 * 1024 * 1024
COLUMNS = ("learner", "scenario", "step", "score", "comment")
_STEP_NAMES = {name.casefold(): step.id for step in STEPS for name in (step.id, str(step.number), step.title)}


class OverridesError(ValueError):
    """The overrides or comments file as a whole cannot be used (one line)."""


@dataclass(frozen=True)
class Override:
    line: int
    learner: str
    scenario: str
    step: str  # "" for a comment on the whole submission
    score: float | None
    comment: str


@dataclass
class Overrides:
    source: str = ""
    rows: list[Override] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def for_submission(self, learner: str, scenario: str) -> list[Override]:
        return [row for row in self.rows if row.learner == learner and row.scenario == scenario]

    def unmatched(self, graded: set[tuple[str, str]]) -> list[str]:
        """A problem line for each row whose learner (or scenario) has no graded submission."""
        learners = {learner for learner, _ in graded}
        lines = []
        folded: dict[str, list[str]] = {}
        for learner in learners:
            folded.setdefault(learner.casefold(), []).append(learner)
        for row in self.rows:
            if (row.learner, row.scenario) in graded:
                continue
            if row.learner in learners:
                what = f"{row.learner!r} has no submission for scenario {row.scenario!r}"
            else:
                near = sorted(folded.get(row.learner.casefold(), []))
                what = f"unknown learner {row.learner!r}" + (f" (names are exact: did you mean {near[0]!r}?)" if near else "")
            lines.append(f"{self.source}: line {row.line}: {what}; the row was not applied")
        return lines


def _read_text(path: str | Path, what: str) -> str:
    try:
        return read_bounded(path, MAX_FILE_BYTES).decode("utf-8-sig")
    except OSError as error:
        raise OverridesError(f"{path}: cannot read the {what}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise OverridesError(f"{path}: the {what} is not UTF-8 text (byte {error.start + 1})") from None


def load_comments(path: str | Path | None) -> dict[str, str]:
    """The comment bank: a JSON object of id -> text, or a CSV with columns id, text."""
    if path is None:
        return {}
    text = _read_text(path, "comment bank")
    if Path(path).suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise OverridesError(f"{path}: the comment bank is not valid JSON") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise OverridesError(f"{path}: the comment bank must be a JSON object of id -> text")
        return {str(k).strip(): v for k, v in data.items()}
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and not {"id", "text"} <= set(rows[0]):
        raise OverridesError(f"{path}: the comment bank needs the columns id, text")
    return {(row.get("id") or "").strip(): row.get("text") or "" for row in rows if (row.get("id") or "").strip()}


def load_overrides(path: str | Path | None, comments: dict[str, str] | None = None) -> Overrides:
    if path is None:
        return Overrides()
    comments = comments or {}
    source = Path(path).name
    text = _read_text(path, "overrides file")
    first = text.split("\n", 1)[0]
    separator = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=separator)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise OverridesError(f"{path}: the overrides file needs the columns {', '.join(COLUMNS)} (missing: {', '.join(missing)})")
    reader.fieldnames = header
    result = Overrides(source)
    for row in reader:
        line = reader.line_num  # the file's line, also when a quoted comment spans lines
        if row.get(None):  # more values than columns: the comment held the separator without quotes
            result.problems.append(
                f"{source}: line {line}: more values than columns (put a comment holding {separator!r} in double quotes); the row was not applied"
            )
            continue
        parsed = _row(row, line, comments, source)
        if isinstance(parsed, str):
            result.problems.append(parsed)
        else:
            result.rows.append(parsed)
    return result


def _row(row: dict, line: int, comments: dict[str, str], source: str) -> Override | str:
    value = {name: (row.get(name) or "").strip() for name in COLUMNS}
    where = f"{source}: line {line}"
    if not value["learner"] or not value["scenario"]:
        return f"{where}: learner and scenario are required; the row was not applied"
    if value["step"]:
        step = _STEP_NAMES.get(" ".join(value["step"].split()).casefold())
        if step is None:
            return f"{where}: unknown step {value['step'][:40]!r} (expected a step id, number 1-7 or title: {', '.join(STEP_IDS)}); the row was not applied"
        value["step"] = step
    score = None
    if value["score"]:
        try:
            score = float(value["score"].removesuffix("%").strip())
        except ValueError:
            return f"{where}: score {value['score'][:20]!r} is not a number; the row was not applied"
        if not math.isfinite(score) or not 0 <= score <= 100:
            return f"{where}: score must be between 0 and 100; the row was not applied"
        if not value["step"]:
            return f"{where}: a score needs a step; the row was not applied"
    comment = value["comment"]
    if comment.startswith("@"):
        ids = comment.split()
        unknown = [i for i in ids if i[1:] not in comments or not i.startswith("@")]
        if unknown:
            return f"{where}: unknown comment id {unknown[0][:40]!r} (not in the comment bank); the row was not applied"
        comment = " ".join(comments[i[1:]] for i in ids)
    return Override(line, value["learner"], value["scenario"], value["step"], score, comment)
