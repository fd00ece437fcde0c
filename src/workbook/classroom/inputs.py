"""Finding and reading submissions: answers files and saved practice notebooks.

Nothing here executes anything: an answers file goes through `answers.decode_answers`,
a notebook's carried answers (see `workbook.carry`) through `answers.answers_from_dict`.
A file that cannot be read becomes a `Rejected` with one line of reason.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..answers import MAX_ANSWERS_BYTES, Answers, AnswersError, answers_from_dict, decode_answers
from ..carry import MAX_NOTEBOOK_BYTES, NotebookAnswersError, carried_payload
from ..safeio import read_bounded
from ..textsafe import one_line

SUFFIXES = (".json", ".ipynb")
# Files the workbook keeps beside an answers file that are not submissions.
_NOT_SUBMISSIONS = re.compile(r".*\.state\.json|.*\.(changed|corrupt)-\d{8}-\d{6}(-\d+)?\.json|claude-batch\.json")
_SAVED_AT = re.compile(rb'"saved_at"\s*:\s*"([0-9T:+\-Z]{10,30})"')


@dataclass
class Submission:
    file: str  # as found (for the instructor's eyes only; never derived from learner text)
    learner: str
    answers: Answers
    saved_at: float  # seconds since the epoch: the answers' own saved_at, else the file's mtime
    kind: str  # "answers" or "notebook"


@dataclass
class Rejected:
    file: str
    reason: str


def discover(paths: list[str | os.PathLike]) -> tuple[list[Path], list[Rejected]]:
    """Every candidate file under `paths` (folders recursively, sorted), and the paths that are not usable."""
    found: list[Path] = []
    rejected: list[Rejected] = []
    for given in map(Path, paths):
        if given.is_dir():
            for root, dirs, files in os.walk(given):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # .ipynb_checkpoints, .git
                found += [Path(root) / name for name in sorted(files) if _candidate(name)]
        elif given.is_file() or given.is_symlink():
            found.append(given)
        else:
            rejected.append(Rejected(str(given), "no such file or folder"))
    unique = {os.path.abspath(path): path for path in reversed(found)}  # a file given twice (or inside a given folder) counts once
    return [path for path in found if unique.get(os.path.abspath(path)) is path], rejected


def _candidate(name: str) -> bool:
    return name.endswith(SUFFIXES) and not name.startswith(".") and not _NOT_SUBMISSIONS.fullmatch(name)


def read_submission(path: Path) -> Submission | Rejected:
    """One file as a Submission, or a Rejected naming the file and the reason."""
    source = str(path)
    if path.is_symlink():  # a link in a collected folder could point at any file of the instructor's
        return Rejected(source, f"{path.name}: is a symbolic link; only regular files are read")
    try:
        if path.suffix == ".ipynb":
            raw = read_bounded(path, MAX_NOTEBOOK_BYTES)
            payload = carried_payload(raw, path.name)
            answers = answers_from_dict(payload, f"{path.name} (carried answers)")
            saved = payload.get("saved_at") if isinstance(payload, dict) else None
            stamp = _parse_time(saved.encode() if isinstance(saved, str) else None)
            kind = "notebook"
        elif path.suffix == ".json":
            raw = read_bounded(path, MAX_ANSWERS_BYTES)
            answers = decode_answers(raw, path.name)
            match = _SAVED_AT.search(raw)
            stamp = _parse_time(match.group(1) if match else None)
            kind = "answers"
        else:
            return Rejected(source, "not an answers file (.json) or a practice notebook (.ipynb)")
        mtime = os.stat(path).st_mtime
    except (AnswersError, NotebookAnswersError) as error:
        return Rejected(source, one_line(str(error)))
    except OSError as error:
        why = error.strerror or str(error)
        if "limit" in why:
            why += " for a notebook" if path.suffix == ".ipynb" else " for an answers file"
        return Rejected(source, one_line(f"{path.name}: cannot read: {why}"))
    except (RecursionError, ValueError, UnicodeError) as error:
        return Rejected(source, one_line(f"{path.name}: cannot read: {error}")[:300])
    learner = (answers.learner or "").strip() or learner_from_path(path, answers.scenario)
    return Submission(source, learner, answers, stamp if stamp is not None else mtime, kind)


def learner_from_path(path: Path, scenario: str) -> str:
    """The file name without its suffixes; a file named after the scenario takes its folder's name."""
    stem = path.name
    for suffix in (".answers.json", ".json", ".ipynb"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if stem in (scenario, f"{scenario}-mock", "") and path.parent.name not in ("", ".", "my-work"):
        return path.parent.name
    if stem in (scenario, f"{scenario}-mock", "") and path.parent.name == "my-work" and path.parent.parent.name:
        return path.parent.parent.name
    return stem or "anonymous"


def _parse_time(raw: bytes | None) -> float | None:
    if not raw:
        return None
    try:
        return datetime.strptime(raw.decode("ascii"), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except (ValueError, UnicodeDecodeError):
        return None
