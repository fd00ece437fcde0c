"""The answers file: the one format a learner's work is stored in.

    {"scenario": "<id>", "learner": "<optional name>", "answers": {"<step id>": "<text>", ...},
     "claims": [{"step": "<step id>", "criterion": "<criterion id>", "sentence": "<learner's sentence>"}],
     "followups": {"<step id>": [{"question": "...", "reply": "..."}]}}

Missing steps mean empty; `claims` and `followups` are optional. Saving is atomic
(temporary file + rename) and holds an inter-process lock (`.NAME.lock` beside
the file) from the check of what is on disk to the rename, so two kernels on one
file never lose a save. A file that is not a valid answers file is never silently
overwritten, and only regular `.json` files are ever replaced or moved aside.

Limits (exported for other readers of answers files): a file of at most
`MAX_ANSWERS_BYTES`, and at most `MAX_STEP_BYTES` of UTF-8 per step answer,
claim sentence or follow-up text.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .safeio import NotARegularFileError, describe_size, kind_of, read_bounded
from .scenario import SLUG, is_scenario_id
from .steps import STEP_IDS
from .textsafe import clean_text

FORMAT_KEYS = {"scenario", "learner", "answers", "claims", "followups", "saved_at"}
MAX_ANSWERS_BYTES = 2 * 1024 * 1024
MAX_STEP_BYTES = 200 * 1024
LOCK_TIMEOUT_SECONDS = 10.0
STALE_TEMPORARY_SECONDS = 60.0
_CRITERION_ID = re.compile(SLUG)


class AnswersError(ValueError):
    """An answers file is missing, unreadable or wrong-shaped; the message names the file and field."""


class AnswersTooLargeError(AnswersError):
    """Answers over a documented limit: refused before anything touches the disk."""


@dataclass(frozen=True)
class Claim:
    """A sentence the learner says meets a criterion of a step."""

    step: str
    criterion: str
    sentence: str


@dataclass(frozen=True)
class FollowUp:
    """A follow-up question asked about a step, and the learner's reply."""

    question: str
    reply: str


@dataclass
class Answers:
    scenario: str
    answers: dict[str, str] = field(default_factory=dict)
    learner: str | None = None
    claims: list[Claim] = field(default_factory=list)
    followups: dict[str, list[FollowUp]] = field(default_factory=dict)

    def text(self, step_id: str) -> str:
        return self.answers.get(step_id, "")

    def graded_text(self, step_id: str) -> str:
        """What a grader reads for a step: its answer, then the learner's replies to the interviewer's follow-ups."""
        replies = [entry.reply.strip() for entry in self.followups.get(step_id, ()) if entry.reply.strip()]
        return "\n\n".join([self.text(step_id), *replies]).strip() if replies else self.text(step_id)

    def to_dict(self) -> dict:
        ordered = {step: self.answers[step] for step in STEP_IDS if self.answers.get(step)}
        data: dict = {"scenario": self.scenario, "learner": self.learner, "answers": ordered}
        if self.claims:
            data["claims"] = [{"step": c.step, "criterion": c.criterion, "sentence": c.sentence} for c in self.claims]
        followups = {
            step: [{"question": f.question, "reply": f.reply} for f in self.followups[step]]
            for step in STEP_IDS
            if self.followups.get(step)
        }
        if followups:
            data["followups"] = followups
        return data


@dataclass(frozen=True)
class Saved:
    """What `save_answers` did: the payload now on disk, and any copies it kept aside first."""

    payload: dict
    kept_aside: list[tuple[str, Path, str]] = field(default_factory=list)  # (label, where, why)


# --- validation ----------------------------------------------------------------------------


def _text(value: object, source: str, where: str) -> str:
    if not isinstance(value, str):
        raise AnswersError(f"{source}: {where}: must be text, got {type(value).__name__}")
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_STEP_BYTES:
        raise AnswersTooLargeError(
            f"{source}: {where}: is {describe_size(size)}, over the {describe_size(MAX_STEP_BYTES)} limit per step"
        )
    return clean_text(value)


def _fields(value: object, source: str, where: str, required: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise AnswersError(f"{source}: {where}: must be an object with {', '.join(required)}")
    for key in value:
        if key not in required:
            raise AnswersError(f"{source}: {where}.{_shown(key)}: unknown field (expected {', '.join(required)})")
    for key in required:
        if key not in value:
            raise AnswersError(f"{source}: {where}.{key}: required field is missing")
    return value


def _shown(key: object) -> str:
    text = clean_text(str(key))
    return text if len(text) <= 40 else text[:40] + "…"


def _step_id(value: object, source: str, where: str) -> str:
    if value not in STEP_IDS:
        raise AnswersError(f"{source}: {where}: unknown step id (expected one of: {', '.join(STEP_IDS)})")
    return value  # type: ignore[return-value]


def _claims(raw: object, source: str) -> list[Claim]:
    if not isinstance(raw, list):
        raise AnswersError(f"{source}: claims: must be a list of {{step, criterion, sentence}} objects")
    claims = []
    for index, item in enumerate(raw):
        where = f"claims.{index}"
        item = _fields(item, source, where, ("step", "criterion", "sentence"))
        step = _step_id(item["step"], source, f"{where}.step")
        criterion = item["criterion"]
        if not isinstance(criterion, str) or len(criterion) > 100 or not _CRITERION_ID.fullmatch(criterion):
            raise AnswersError(f"{source}: {where}.criterion: must be a criterion id (lowercase words joined by - or _)")
        claims.append(Claim(step, criterion, _text(item["sentence"], source, f"{where}.sentence")))
    return claims


def _followups(raw: object, source: str) -> dict[str, list[FollowUp]]:
    if not isinstance(raw, dict):
        raise AnswersError(f"{source}: followups: must be an object mapping step ids to lists of {{question, reply}}")
    followups: dict[str, list[FollowUp]] = {}
    for step, items in raw.items():
        _step_id(step, source, f"followups.{_shown(step)}")
        if not isinstance(items, list):
            raise AnswersError(f"{source}: followups.{step}: must be a list of {{question, reply}} objects")
        entries = []
        for index, item in enumerate(items):
            where = f"followups.{step}.{index}"
            item = _fields(item, source, where, ("question", "reply"))
            entries.append(FollowUp(_text(item["question"], source, f"{where}.question"), _text(item["reply"], source, f"{where}.reply")))
        followups[step] = entries
    return followups


def answers_from_dict(data: object, source: str = "<answers>") -> Answers:
    """Validate the decoded JSON of an answers file; raise AnswersError naming the field.

    Lone surrogates are replaced by U+FFFD, so what loads can always be saved again.
    """
    if not isinstance(data, dict):
        raise AnswersError(f"{source}: expected a JSON object with 'scenario' and 'answers', got {type(data).__name__}")
    unknown = sorted(str(key) for key in set(data) - FORMAT_KEYS)
    if unknown:
        raise AnswersError(f"{source}: {_shown(unknown[0])}: unknown field (expected scenario, learner, answers, claims, followups)")
    scenario = data.get("scenario")
    if not isinstance(scenario, str) or not is_scenario_id(scenario.strip()):
        raise AnswersError(f"{source}: scenario: must be a scenario id such as 'support-refund-agent' (see `workbook list`)")
    learner = data.get("learner")
    if learner is not None:
        learner = _text(learner, source, "learner")
    raw = data.get("answers", {})
    if not isinstance(raw, dict):
        raise AnswersError(f"{source}: answers: must be an object mapping step ids to text")
    answers = {}
    for step_id, text in raw.items():
        _step_id(step_id, source, f"answers.{_shown(step_id)}")
        answers[step_id] = "" if text is None else _text(text, source, f"answers.{step_id}")
    return Answers(
        scenario=scenario.strip(),
        answers=answers,
        learner=learner,
        claims=_claims(data.get("claims", []), source),
        followups=_followups(data.get("followups", {}), source),
    )


# --- reading ---------------------------------------------------------------------------------


def _huge_number(text: str) -> int:
    if len(text) > 100:  # no field holds a number; refuse before int() meets Python's digit limit
        raise ValueError(f"a number of {len(text)} digits")
    return int(text)


def parse_json_bytes(raw: bytes, source: str, error: type[Exception] = None, what: str = "") -> object:
    """Decode and parse JSON bytes; every problem is one line of `error` naming `source` (and `what` it should be)."""
    error = error or AnswersError
    lead = f"{source}: {what}" if what else f"{source}: "
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark from a Windows editor is harmless
    except UnicodeDecodeError as problem:
        raise error(f"{source}: not UTF-8 text (byte {problem.start + 1})") from None
    try:
        return json.loads(text, parse_int=_huge_number)
    except json.JSONDecodeError as problem:
        raise error(f"{lead}invalid JSON at line {problem.lineno}, column {problem.colno}: {problem.msg}") from None
    except RecursionError:
        raise error(f"{lead}invalid JSON: nested too deeply") from None
    except ValueError as problem:
        raise error(f"{lead}invalid JSON: {problem}") from None


def decode_answers(raw: bytes, source: str) -> Answers:
    """Parse and validate the bytes of an answers file; every problem is one AnswersError line."""
    data = parse_json_bytes(raw, source)
    return answers_from_dict(data, source)


def load_answers(path: str | os.PathLike) -> Answers:
    path = Path(path)
    try:
        raw = read_bounded(path, MAX_ANSWERS_BYTES)
    except FileNotFoundError:
        raise AnswersError(f"{path}: no such answers file") from None
    except OSError as error:
        message = error.strerror or str(error)
        if "limit" in message:
            message += " for an answers file"
        raise AnswersError(f"{path}: cannot read: {message}") from None
    return decode_answers(raw, str(path))


# --- writing ---------------------------------------------------------------------------------


def _check_replaceable(path: Path) -> bool:
    """Whether `path` exists; AnswersError unless it is a name the workbook writes, on a regular file."""
    if not path.name.endswith(".json"):
        raise AnswersError(f"{path}: an answers file name ends in .json; refusing to replace or move it")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(mode):
        raise AnswersError(f"{path}: is {kind_of(mode)}, not an answers file; refusing to replace or move it")
    return True


def _lock(path: Path):
    from filelock import FileLock, Timeout  # local: keeps `import workbook` light

    lock = FileLock(str(path.with_name(f".{path.name}.lock")), timeout=LOCK_TIMEOUT_SECONDS, is_singleton=True)
    return lock, Timeout


class _Locked:
    """Hold the file's inter-process lock; a timeout is an OSError that says nothing was written."""

    def __init__(self, path: Path):
        self.path = path
        self.lock, self.timeout = _lock(path)

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.lock.acquire()
        except self.timeout:
            raise TimeoutError(f"{self.path}: another program held this file's lock for {LOCK_TIMEOUT_SECONDS:g} s") from None

    def __exit__(self, *exc) -> None:
        self.lock.release()


def _move_aside(path: Path, label: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = path.name.removesuffix(".json")
    target = path.with_name(f"{stem}.{label}-{stamp}.json")
    counter = 1
    while os.path.lexists(target):
        target = path.with_name(f"{stem}.{label}-{stamp}-{counter}.json")
        counter += 1
    os.replace(path, target)
    return target


def quarantine(path: str | os.PathLike, label: str = "corrupt") -> Path | None:
    """Move a file aside as NAME.LABEL-TIMESTAMP.json (keeping it) and return where it went.

    Returns None when the file is already gone (another process moved it aside).
    Raises AnswersError for anything the workbook would not have written: a folder,
    a symlink, a device, or a name that does not end in `.json`.
    """
    path = Path(path)
    if not re.fullmatch(r"[a-z]+", label):
        raise ValueError(f"quarantine label must be lowercase letters, got {label!r}")
    _check_replaceable(path)
    with _Locked(path):
        if not _check_replaceable(path):
            return None
        return _move_aside(path, label)


_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp")


def _remove_stale_temporaries(path: Path) -> None:
    """Remove `.NAME.*.tmp` files a killed save left behind (older than a minute, so never a live one)."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match is None or match.group("name") != path.name:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                os.unlink(entry.path)
        except OSError:
            continue  # another save removed it, or the folder is read-only: harmless either way


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write via a temporary file in the same folder, fsync, then rename over the target.

    Refuses (OSError) to replace a folder, symlink or device. Lone surrogates are
    written as U+FFFD rather than failing the write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise NotARegularFileError(0, f"is {kind_of(mode)}; refusing to replace it", str(path))
    _remove_stale_temporaries(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file owner-only; keep the mode an instructor's collection script expects.
        os.chmod(temporary, stat.S_IMODE(mode) if mode is not None else 0o644)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(clean_text(text))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable, so a power cut cannot undo a save reported as done."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a folder; the rename is still atomic
    finally:
        os.close(fd)


_UNSET = object()


def _clean(value):
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def save_answers(answers: Answers, path: str | os.PathLike, *, last_saved: dict | None | object = _UNSET) -> Saved:
    """Save atomically, holding the file's lock from the check of what is on disk to the rename.

    Without `last_saved`: an existing file that is not a valid answers file raises
    AnswersError and is left as it is (the caller decides whether to quarantine it).

    With `last_saved` (the payload this writer saved last, or None if it never saved):
    an existing corrupt file is kept aside as `corrupt`, and a valid one that differs
    from `last_saved` (another kernel or an editor saved there) as `changed`, both under
    the same lock as the write, so no save reported as done is ever overwritten unseen.

    Over-limit answers raise AnswersTooLargeError before anything is touched. Returns
    what was written and what was kept aside.
    """
    path = Path(path)
    payload = _clean(answers.to_dict())
    body = answers_from_dict(payload, f"{path} (not saved)")  # the same limits as loading
    text = json.dumps(body.to_dict() | {"saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2, ensure_ascii=False) + "\n"
    if len(text.encode("utf-8")) > MAX_ANSWERS_BYTES:
        raise AnswersTooLargeError(f"{path}: not saved: the answers are over the {describe_size(MAX_ANSWERS_BYTES)} limit for an answers file")
    _check_replaceable(path)
    kept: list[tuple[str, Path, str]] = []
    with _Locked(path):
        if _check_replaceable(path):
            kept = _keep_aside(path, last_saved)
        atomic_write_text(path, text)
    return Saved(payload, kept)


def _keep_aside(path: Path, last_saved: dict | None | object) -> list[tuple[str, Path, str]]:
    """Under the lock: what to move aside before writing (or raise, without `last_saved`)."""
    try:
        on_disk = load_answers(path).to_dict()
    except AnswersError as error:
        if last_saved is _UNSET:
            raise
        if not path.exists():  # gone since the check: nothing to keep
            return []
        return [("corrupt", _move_aside(path, "corrupt"), str(error))]
    if last_saved is _UNSET or on_disk == _clean(last_saved):
        return []
    return [("changed", _move_aside(path, "changed"), "changed outside this writer")]
