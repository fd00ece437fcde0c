"""The answers file: the one format a learner's work is stored in.

    {"scenario": "<id>", "learner": "<optional name>", "answers": {"<step id>": "<text>", ...}}

Missing steps mean empty. Saving is atomic (temporary file + rename), so a crash
mid-write leaves the previous good copy in place, and a file that is not a valid
answers file is never silently overwritten.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .steps import STEP_IDS

FORMAT_KEYS = {"scenario", "learner", "answers", "saved_at"}


class AnswersError(ValueError):
    """An answers file is missing, unreadable or wrong-shaped; the message names the file and field."""


@dataclass
class Answers:
    scenario: str
    answers: dict[str, str] = field(default_factory=dict)
    learner: str | None = None

    def text(self, step_id: str) -> str:
        return self.answers.get(step_id, "")

    def to_dict(self) -> dict:
        ordered = {step: self.answers[step] for step in STEP_IDS if self.answers.get(step)}
        return {"scenario": self.scenario, "learner": self.learner, "answers": ordered}


def answers_from_dict(data: object, source: str = "<answers>") -> Answers:
    """Validate the decoded JSON of an answers file; raise AnswersError naming the field."""
    if not isinstance(data, dict):
        raise AnswersError(f"{source}: expected a JSON object with 'scenario' and 'answers', got {type(data).__name__}")
    unknown = sorted(set(data) - FORMAT_KEYS)
    if unknown:
        raise AnswersError(f"{source}: {unknown[0]}: unknown field (expected scenario, learner, answers)")
    scenario = data.get("scenario")
    if not isinstance(scenario, str) or not scenario.strip():
        raise AnswersError(f"{source}: scenario: must be a scenario id string (see `workbook list`)")
    learner = data.get("learner")
    if learner is not None and not isinstance(learner, str):
        raise AnswersError(f"{source}: learner: must be a string or null")
    raw = data.get("answers", {})
    if not isinstance(raw, dict):
        raise AnswersError(f"{source}: answers: must be an object mapping step ids to text")
    for step_id, text in raw.items():
        if step_id not in STEP_IDS:
            raise AnswersError(f"{source}: answers.{step_id}: unknown step id (expected one of: {', '.join(STEP_IDS)})")
        if text is not None and not isinstance(text, str):
            raise AnswersError(f"{source}: answers.{step_id}: must be text, got {type(text).__name__}")
    return Answers(scenario=scenario.strip(), answers={k: v or "" for k, v in raw.items()}, learner=learner)


def load_answers(path: str | os.PathLike) -> Answers:
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnswersError(f"{path}: no such answers file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AnswersError(f"{path}: cannot read: {error}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise AnswersError(f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    return answers_from_dict(data, str(path))


def quarantine(path: str | os.PathLike, label: str = "corrupt") -> Path:
    """Move a file aside as NAME.LABEL-TIMESTAMP.json (keeping it) and return where it went."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = path.name.removesuffix(".json")
    target = path.with_name(f"{stem}.{label}-{stamp}.json")
    counter = 1
    while target.exists():
        target = path.with_name(f"{stem}.{label}-{stamp}-{counter}.json")
        counter += 1
    os.replace(path, target)
    return target


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write via a temporary file in the same folder, fsync, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp makes the file owner-only; keep the mode an instructor's collection script expects.
    os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_answers(answers: Answers, path: str | os.PathLike) -> None:
    """Save atomically. Refuses to replace an existing file that is not a valid answers file."""
    path = Path(path)
    if path.exists():
        load_answers(path)  # raises AnswersError: the caller decides whether to quarantine it
    payload = answers.to_dict() | {"saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
