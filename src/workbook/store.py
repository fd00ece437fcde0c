"""The answer store: a learner's answers file and its state file, with nothing lost.

    store = AnswerStore("my-work/legal.answers.json", "legal-contract-summarizer")
    store.set_text("user_intent", "Contract managers ...")   # autosaves after a quiet moment
    store.answers()                                          # an `Answers`, as the scorer takes it
    store.flush()                                            # save now if a save is pending

No widgets here: the practice form (`workbook.form`) is a view over this, and the
class-grading command reads files with `read_answers` (never moves or writes).

What the store promises (tests/test_form.py checks it through the form):

* Saves are debounced on a daemon `threading.Timer` and go through one call,
  `answers.save_answers(..., last_saved=...)`: under the file's inter-process lock
  it keeps aside a file that is corrupt or was changed behind the store's back
  (another kernel, an editor), then writes atomically. What was kept aside is told
  through `notices`; the payload written becomes the new `last_saved`.
* Claims and follow-ups are part of the answers file and are saved with the texts.
  Anything else (a folder, a notebook, someone else's JSON) is never moved: a folder
  or a non-`.json` path is refused with `StoreError`, other JSON makes the store read-only.
* A failed save (read-only folder, full disk) is reported through `on_status` and
  `notices`, never raised: the learner keeps their text on screen and can retry.
* The state file (`NAME.state.json`: steps checked, hints shown, open tab, last
  feedback, mock clock) is best effort: an unreadable one is kept aside and ignored.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Callable

from .answers import Answers, AnswersError, Claim, FollowUp, Saved, atomic_write_text, load_answers, quarantine, save_answers
from .steps import STEP_IDS

AUTOSAVE_DELAY = 0.75  # seconds of quiet typing before a save
STATE_LIMIT = 2_000_000  # bytes: a state file larger than this is not ours to parse


class StoreError(ValueError):
    """The answers path cannot be used at all (a folder, a notebook); the message names it."""


Status = Callable[[str, str], None]  # (text, kind) with kind in ok, pending, error, info


def _ignore(_text: str, _kind: str = "") -> None:
    pass


def digest(answers: Answers) -> str:
    """A short fingerprint of the answer text (the history records an attempt only when it changes)."""
    payload = json.dumps(answers.to_dict()["answers"], sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(payload.encode("ascii")).hexdigest()[:16]


def check_answers_path(path: str | os.PathLike) -> Path:
    """The answers path, resolved; StoreError for a folder or for a file that is not `.json`."""
    resolved = Path(path).expanduser().resolve()
    if resolved.is_dir():
        raise StoreError(f"answers_path {resolved} is a folder; give a file such as {resolved / 'mine.answers.json'}")
    if resolved.suffix.lower() != ".json":
        raise StoreError(
            f"answers_path {resolved} is not an answers file (it must end in .json); "
            "pass the answers file, not the notebook or another file"
        )
    return resolved


def read_answers(path: str | os.PathLike) -> Answers:
    """Read one answers file for grading: `check_answers_path`, then `load_answers`. Never moves or writes."""
    return load_answers(check_answers_path(path))


def state_path_for(answers_path: Path) -> Path:
    return answers_path.with_name(answers_path.name.removesuffix(".json") + ".state.json")


def _looks_like_ours(path: Path) -> bool:
    """Did the workbook write this file? Only such files are ever moved aside."""
    if path.name.endswith(".answers.json"):
        return True
    try:
        with open(path, "rb") as stream:
            head = stream.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and b'"scenario"' in head


# One live store per answers file in this process: opening a new one flushes and retires the old one.
_LIVE: "weakref.WeakValueDictionary[str, AnswerStore]" = weakref.WeakValueDictionary()


class AnswerStore:
    """Answers, claims and form state for one answers file.

    scenario_id may be None when the file exists: it is then taken from the file.
    `on_status(text, kind)` hears about saves; `on_notice(message, kind)` about
    anything the learner should read (files kept aside, a read-only folder).
    `after_autosave()` runs after each background save attempt.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        scenario_id: str | None = None,
        *,
        autosave_delay: float = AUTOSAVE_DELAY,
        on_status: Status = _ignore,
        on_notice: Status = _ignore,
        after_autosave: Callable[[], None] | None = None,
    ):
        self.path = check_answers_path(path)
        self.state_path = state_path_for(self.path)
        self.autosave_delay = autosave_delay
        self.on_status = on_status
        self.on_notice = on_notice
        self.after_autosave = after_autosave
        self.notices: list[tuple[str, str]] = []
        self.save_count = 0
        self.can_save = True
        self.closed = False
        self.saved_ok = True  # the last save attempt succeeded (or nothing needed saving)
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        previous = _LIVE.get(str(self.path))
        if previous is not None:
            previous.retire()  # flushes its pending edits first, so we read the latest
        loaded = self._load()
        self.scenario_id = scenario_id or (loaded.scenario if loaded else None)
        if not self.scenario_id:
            raise StoreError(f"{self.path}: no answers to take the scenario from; give a scenario_id")
        if loaded is not None and loaded.scenario != self.scenario_id:
            self._refuse(
                f"{self.path} holds answers for scenario '{loaded.scenario}', not '{self.scenario_id}'. "
                "It is left untouched and this form does not save; pass another answers_path."
            )
            loaded = None
        self.loaded = loaded
        self.learner = loaded.learner if loaded else None
        self.texts: dict[str, str] = {step: loaded.text(step) if loaded else "" for step in STEP_IDS}
        self._last_saved: dict | None = loaded.to_dict() if loaded else None
        self.state = self._read_state()
        self.claims: list[Claim] = list(loaded.claims) if loaded else []
        self.followups: dict[str, list[FollowUp]] = {s: list(f) for s, f in loaded.followups.items()} if loaded else {}
        _LIVE[str(self.path)] = self
        _EXIT_STORES.add(self)

    # --- loading -------------------------------------------------------------------------------

    def _notice(self, message: str, kind: str) -> None:
        self.notices.append((kind, message))
        self.on_notice(message, kind)

    def _refuse(self, message: str) -> None:
        self.can_save = False
        self._notice(message, "error")

    def _load(self) -> Answers | None:
        if not self.path.exists():
            return None
        try:
            return load_answers(self.path)
        except AnswersError as error:
            if not _looks_like_ours(self.path):
                self._refuse(f"{self.path.name} is not a workbook answers file ({error}); it is left untouched and this form does not save.")
                return None
            moved = self._keep_aside(self.path, "corrupt")
            if moved is None:
                self._refuse(f"Your answers file could not be read ({error}) and could not be moved aside; this form does not save.")
                return None
            self._notice(
                f"Your answers file could not be read ({error}). It was moved to {moved.name} so nothing is lost; "
                f"the form starts empty and new work is saved to {self.path.name}.",
                "error",
            )
            return None
        except RecursionError:  # a deeply nested file, before the loader guards against it
            return self._load_failed("it is nested too deeply")
        except ValueError as error:  # e.g. an integer too long to convert
            return self._load_failed(_one_line(error)[:120])

    def _load_failed(self, why: str) -> None:
        moved = self._keep_aside(self.path, "corrupt") if _looks_like_ours(self.path) else None
        if moved is None:
            self._refuse(f"{self.path.name} could not be read ({why}); it is left untouched and this form does not save.")
        else:
            self._notice(f"Your answers file could not be read ({why}). It was moved to {moved.name}; the form starts empty.", "error")
        return None

    def _keep_aside(self, path: Path, label: str) -> Path | None:
        try:
            return quarantine(path, label)
        except (OSError, ValueError):
            return None

    def _read_state(self) -> dict:
        try:
            with open(self.state_path, "rb") as stream:
                raw = stream.read(STATE_LIMIT + 1)
        except FileNotFoundError:
            return {}
        except OSError as error:
            self._notice(f"The form state in {self.state_path.name} could not be read ({error}); steps start unchecked.", "warn")
            return {}
        try:
            if len(raw) > STATE_LIMIT:
                raise ValueError(f"larger than {STATE_LIMIT} bytes")
            state = json.loads(raw.decode("utf-8"))
            if not isinstance(state, dict):
                raise ValueError("not a JSON object")
            return state
        except (ValueError, RecursionError) as error:
            why = "nested too deeply" if isinstance(error, RecursionError) else str(error)[:120]
            moved = self._keep_aside(self.state_path, "corrupt")
            where = f"it was kept as {moved.name}" if moved else "it is ignored"
            self._notice(f"The form state in {self.state_path.name} could not be read ({why}); {where}, and steps start unchecked.", "warn")
            return {}

    # --- the answers ------------------------------------------------------------------------------

    def answers(self) -> Answers:
        """The answers file's content as it stands: texts, claims and follow-ups."""
        followups = {step: list(entries) for step, entries in self.followups.items() if entries}
        return Answers(self.scenario_id, dict(self.texts), self.learner, claims=list(self.claims), followups=followups)

    def graded_answers(self) -> Answers:
        """What a grader reads: each step's text followed by the learner's follow-up replies to it."""
        answers = self.answers()
        answers.answers = {step: answers.graded_text(step) for step in {**answers.answers, **answers.followups}}
        return answers

    def add_followup(self, step_id: str, question: str, reply: str) -> FollowUp:
        """Store an interviewer question and the learner's reply with the answers (saved at once)."""
        if step_id not in self.texts:
            raise KeyError(step_id)
        entry = FollowUp(question, reply)
        self.followups.setdefault(step_id, []).append(entry)
        self.save()
        return entry

    def set_text(self, step_id: str, text: str) -> None:
        """A change from the learner: remember it and save after a quiet moment."""
        if step_id not in self.texts:
            raise KeyError(step_id)
        self.texts[step_id] = text
        self.schedule_save()

    def reset(self) -> None:
        """Start from a blank sheet (a new mock attempt): the file itself is kept aside by the caller."""
        self.texts = {step: "" for step in STEP_IDS}
        self.claims = []
        self.followups = {}
        self._last_saved = None

    def add_claim(self, step_id: str, criterion: str, sentence: str) -> Claim:
        claim = Claim(step_id, criterion, sentence)
        self.claims = [c for c in self.claims if (c.step, c.criterion) != (step_id, criterion)] + [claim]
        self._claims_changed()
        return claim

    def remove_claim(self, step_id: str, criterion: str) -> None:
        self.claims = [c for c in self.claims if (c.step, c.criterion) != (step_id, criterion)]
        self._claims_changed()

    def claims_for(self, step_id: str) -> dict[str, Claim]:
        return {c.criterion: c for c in self.claims if c.step == step_id}

    def _claims_changed(self) -> None:
        self.save()

    # --- saving ----------------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        timer = self._timer
        return timer is not None and timer.is_alive()

    def schedule_save(self) -> None:
        if not self.can_save or self.closed:
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.autosave_delay, self._autosave)
            self._timer.daemon = True
            self._timer.start()
        self.on_status("Unsaved changes…", "pending")

    def _autosave(self) -> None:
        try:
            self.save()
        except Exception as error:  # noqa: BLE001 - a background thread must report, not die silently
            self.saved_ok = False
            self.on_status(f"Not saved: {error}", "error")
        if self.after_autosave is not None:
            try:
                self.after_autosave()
            except Exception:  # noqa: BLE001 - a display hiccup must not stop saving
                pass

    def save(self) -> bool:
        """Save now (atomic). False when this store may not save or the write failed (see `notices`)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self.can_save:
                return False
            answers = self.answers()
            payload = answers.to_dict()
            if payload == self._last_saved and self.path.exists():
                self.saved_ok = True
                self.on_status(f"Saved to {self.path.name}", "ok")
                return True
            try:
                saved = save_answers(answers, self.path, last_saved=self._last_saved)
            except (OSError, ValueError) as error:
                self.saved_ok = False
                self.on_status(f"Not saved: {_one_line(error)}", "error")
                self._notice(
                    f"Your answers could not be saved to {self.path} ({_one_line(error)}). They are still in the form; "
                    "copy them somewhere safe or make the folder writable, then type a character to retry.",
                    "error",
                )
                return False
            self._kept_aside_notices(saved)
            self._last_saved = saved.payload
            self.save_count += 1
            self.saved_ok = True
            self.on_status(f"Saved to {self.path.name} at {time.strftime('%H:%M:%S')}", "ok")
            return True

    def _kept_aside_notices(self, saved: Saved) -> None:
        """What `save_answers` moved aside under the lock before writing, told to the learner."""
        for label, where, why in saved.kept_aside:
            if label == "corrupt":
                self._notice(f"{self.path.name} could not be read ({_one_line(why)}); it was moved to {where.name} and your answers saved fresh.", "error")
            else:
                self._notice(
                    f"{self.path.name} was changed outside this form (another notebook or an editor); "
                    f"that version was kept as {where.name} and the form's answers saved.",
                    "warn",
                )

    def keep_attempt_aside(self) -> Path | None:
        """Move the answers file aside as NAME.attempt-TIME.json (a finished mock attempt)."""
        self.flush()
        if not self.path.exists() or not self.can_save:
            return None
        try:
            return quarantine(self.path, "attempt")
        except (OSError, ValueError) as error:
            self._notice(f"The finished attempt could not be kept aside ({_one_line(error)}); it stays in {self.path.name}.", "error")
            return None

    def write_state(self) -> bool:
        if not self.can_save or self.closed:
            return False
        state = dict(self.state)
        try:
            atomic_write_text(self.state_path, json.dumps(state, indent=1, ensure_ascii=False) + "\n")
            return True
        except (OSError, ValueError) as error:
            self._notice(f"Could not save the form state to {self.state_path.name}: {_one_line(error)}", "warn")
            return False

    def flush(self) -> bool:
        """Save now if a save is pending; True when everything typed is on disk."""
        if self.pending:
            return self.save()
        return self.saved_ok

    def retire(self) -> None:
        """Flush and stop: a newer store for the same file took over."""
        self.close()
        if self.on_retire is not None:
            self.on_retire()

    on_retire: Callable[[], None] | None = None

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.flush()
        finally:
            self.closed = True


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__


_EXIT_STORES: "weakref.WeakSet[AnswerStore]" = weakref.WeakSet()


@atexit.register
def _flush_all_at_exit() -> None:
    for store in list(_EXIT_STORES):
        try:
            store.flush()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
