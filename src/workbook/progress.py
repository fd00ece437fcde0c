"""Attempt history: one JSON line per full scoring, read by the start notebook's progress panel.

    my-work/history.jsonl
    {"scenario": "...", "title": "...", "total": 72.5, "steps": {"user_intent": 80.0, ...},
     "mode": "practice", "grader": "offline", "at": "2025-01-31T14:02:11+0100",
     "time_used_seconds": null, "time_limit_minutes": null, "answers_digest": "9f0c..."}

An attempt is recorded only when the answers changed since the last attempt of the
same scenario and mode (`answers_digest`), so pressing "Score" twice adds one line.

Appending is one write of one line, so a crash can at worst leave one partial last
line; readers skip lines they cannot parse (and say how many), and the next append
starts on a fresh line. No widget or notebook imports here.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import Report
    from .scenario import Scenario

HISTORY_NAME = "history.jsonl"
MODES = ("practice", "mock")


@dataclass
class Attempt:
    scenario: str
    total: float
    steps: dict[str, float] = field(default_factory=dict)
    title: str = ""
    mode: str = "practice"
    grader: str = "offline"
    at: str = ""
    time_used_seconds: float | None = None
    time_limit_minutes: float | None = None
    answers_digest: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "Attempt":
        """Validate one history line; ValueError for anything a reader could trip over."""
        if not isinstance(data, dict) or not isinstance(data.get("scenario"), str):
            raise ValueError("not an attempt record")
        total = _number(data.get("total"), "total")
        if total is None:
            raise ValueError("attempt without a numeric total")
        steps = data.get("steps") or {}
        mode = data.get("mode") or "practice"
        if mode not in MODES:
            raise ValueError(f"mode: {mode!r}")
        return cls(
            scenario=data["scenario"],
            total=total,
            steps={str(k): v for k, v in steps.items() if _finite(v)} if isinstance(steps, dict) else {},
            title=str(data.get("title") or ""),
            mode=mode,
            grader=str(data.get("grader") or "offline"),
            at=str(data.get("at") or ""),
            time_used_seconds=_number(data.get("time_used_seconds"), "time_used_seconds"),
            time_limit_minutes=_number(data.get("time_limit_minutes"), "time_limit_minutes"),
            answers_digest=str(data.get("answers_digest") or ""),
        )


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: object, name: str) -> float | None:
    """None, or a finite non-negative number; ValueError naming the field otherwise ("abc", {}, 1e400, NaN)."""
    if value is None:
        return None
    if not _finite(value) or value < 0:
        raise ValueError(f"{name}: not a finite number: {str(value)[:40]!r}")
    return float(value)


@dataclass
class ScenarioProgress:
    scenario: str
    title: str
    level: str = ""
    attempts: int = 0
    best: float | None = None
    last: float | None = None
    last_at: str | None = None
    mock_attempts: int = 0
    mock_best: float | None = None
    mock_last: float | None = None
    last_mock_seconds: float | None = None

    def to_row(self) -> dict:
        row = asdict(self)
        row["mock_time"] = format_duration(self.last_mock_seconds) if self.last_mock_seconds is not None else None
        return row


def history_path(work_dir: str | os.PathLike) -> Path:
    return Path(work_dir) / HISTORY_NAME


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


def record_attempt(
    report: "Report",
    work_dir: str | os.PathLike,
    *,
    mode: str = "practice",
    time_used_seconds: float | None = None,
    time_limit_minutes: float | None = None,
    answers_digest: str = "",
) -> Attempt | None:
    """Append one scored attempt to the work folder's history and return it.

    With an `answers_digest` equal to the one of the last attempt of the same scenario
    and mode, nothing is written and None is returned: the answers did not change.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if answers_digest and last_digest(work_dir, report.scenario, mode) == answers_digest:
        return None
    attempt = Attempt(
        scenario=report.scenario,
        total=report.total,
        steps={step_id: step.score for step_id, step in report.steps.items()},
        title=report.title,
        mode=mode,
        grader=report.grader,
        at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        time_used_seconds=None if time_used_seconds is None else round(float(time_used_seconds), 1),
        time_limit_minutes=time_limit_minutes,
        answers_digest=answers_digest,
    )
    path = history_path(work_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(attempt), ensure_ascii=False) + "\n"
    with open(path, "a+b") as stream:
        # A previous crash may have left a partial last line: start on a fresh one.
        if stream.tell() > 0:
            stream.seek(-1, os.SEEK_END)
            if stream.read(1) != b"\n":
                line = "\n" + line
        stream.write(line.encode("utf-8"))
        stream.flush()
        os.fsync(stream.fileno())
    return attempt


def last_digest(work_dir: str | os.PathLike, scenario: str, mode: str) -> str:
    """The answers digest of the latest readable attempt of this scenario and mode ("" when none)."""
    attempts, _ = load_history(work_dir)
    for attempt in reversed(attempts):
        if attempt.scenario == scenario and attempt.mode == mode:
            return attempt.answers_digest
    return ""


def load_history(work_dir: str | os.PathLike) -> tuple[list[Attempt], int]:
    """Every readable attempt, oldest first, and the number of lines skipped as unreadable."""
    path = history_path(work_dir)
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], 0
    attempts: list[Attempt] = []
    skipped = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            attempts.append(Attempt.from_dict(json.loads(line)))
        except (ValueError, TypeError, AttributeError, RecursionError):
            skipped += 1
    return attempts, skipped


def summarize(
    work_dir: str | os.PathLike, scenarios: "dict[str, Scenario] | None" = None
) -> tuple[list[ScenarioProgress], int]:
    """One row per scenario (every known one, attempted or not, plus any only in the history)."""
    attempts, skipped = load_history(work_dir)
    rows: dict[str, ScenarioProgress] = {}
    for scenario in (scenarios or {}).values():
        rows[scenario.id] = ScenarioProgress(scenario.id, scenario.title, scenario.level)
    for attempt in attempts:
        row = rows.setdefault(attempt.scenario, ScenarioProgress(attempt.scenario, attempt.title or attempt.scenario))
        row.last_at = attempt.at.replace("T", " ")[:16] or None
        if attempt.mode == "mock":
            row.mock_attempts += 1
            row.mock_best = attempt.total if row.mock_best is None else max(row.mock_best, attempt.total)
            row.mock_last = attempt.total
            if attempt.time_used_seconds is not None:
                row.last_mock_seconds = attempt.time_used_seconds
        else:
            row.attempts += 1
            row.best = attempt.total if row.best is None else max(row.best, attempt.total)
            row.last = attempt.total
    return list(rows.values()), skipped
