"""Verdicts kept on disk, so re-checking unchanged text costs nothing and cannot move the score.

One small JSON file per verdict, named by the hash of (model, rubric version,
step, whitespace-normalised step text). Files hold verdicts only: never the key,
never the request. A file that cannot be read is treated as absent.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..answers import atomic_write_text
from .verdicts import StepVerdict, normalise

CACHE_ENV = "WORKBOOK_CACHE"


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "workbook" / "claude-verdicts"


def verdict_key(model: str, rubric_version: str, step_id: str, text: str) -> str:
    payload = json.dumps([model, rubric_version, step_id, normalise(text)], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class VerdictCache:
    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder else default_cache_dir()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> StepVerdict | None:
        try:
            return StepVerdict.from_dict(json.loads(self._path(key).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, key: str, verdict: StepVerdict, model: str) -> None:
        try:
            atomic_write_text(self._path(key), json.dumps({"model": model, **verdict.to_dict()}, ensure_ascii=False))
        except OSError:
            pass  # a read-only cache only costs a repeat request
