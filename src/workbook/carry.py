"""The answers, carried inside the practice notebook itself, for `workbook grade`.

A learner may hand in the `.ipynb` rather than the answers file. So that a saved
notebook holds the answers as they stood at its last save, the practice form keeps
one output of its own MIME type, ANSWERS_MIME, holding `Answers.to_dict()` plus
`saved_at`:

* `show(answers)` displays it (with a display id) in the cell that builds the form;
* `publish(answers)` replaces that same output in place (`update_display`) after
  every save, from whichever thread saved.

JupyterLab keeps outputs of MIME types it cannot render when it saves a notebook,
so the saved `.ipynb` carries the latest answers. `answers_from_notebook` reads
them back from the notebook's JSON: no kernel, no nbformat, nothing executed.
IPython is imported only when something is displayed.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .answers import Answers

ANSWERS_MIME = "application/vnd.workbook.answers+json"
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # a practice notebook with widget state stays far below this

_shown: set[str] = set()


class NotebookAnswersError(ValueError):
    """A notebook that carries no readable answers; the message names the notebook and why."""


def display_id_for(answers: "Answers") -> str:
    return f"workbook-answers-{answers.scenario}"


def bundle(answers: "Answers") -> dict:
    """The display data: the answers as JSON, and one short line for a reader of the notebook."""
    payload = answers.to_dict() | {"saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    steps = sum(1 for text in payload["answers"].values() if text.strip())
    note = f"Your answers ({steps} of 7 steps) are kept in this notebook too, so handing it in hands them in."
    return {ANSWERS_MIME: payload, "text/plain": note}


def show(answers: "Answers") -> None:
    """Display a fresh carrier output in the running cell (call it where the form is built)."""
    from IPython.display import display

    key = display_id_for(answers)
    display(bundle(answers), raw=True, display_id=key)
    _shown.add(key)


def publish(answers: "Answers") -> None:
    """Update the carrier output in place after a save (shows one first if none was shown)."""
    key = display_id_for(answers)
    if key not in _shown:
        show(answers)
        return
    from IPython.display import update_display

    update_display(bundle(answers), raw=True, display_id=key)


# --- reading a saved notebook -----------------------------------------------------------------


def _no_long_numbers(text: str) -> int:
    if len(text) > 100:
        raise ValueError(f"a number of {len(text)} digits")
    return int(text)


def carried_payload(raw: bytes, source: str) -> dict:
    """The last ANSWERS_MIME payload in a notebook's JSON; NotebookAnswersError when there is none."""
    from .answers import parse_json_bytes

    notebook = parse_json_bytes(raw, source, NotebookAnswersError, "not a notebook: ")
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise NotebookAnswersError(f"{source}: not a notebook (no list of cells)")
    found = None
    for cell in cells:
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        for output in outputs if isinstance(outputs, list) else []:
            data = output.get("data") if isinstance(output, dict) else None
            if isinstance(data, dict) and ANSWERS_MIME in data:
                found = data[ANSWERS_MIME]
    if found is None:
        raise NotebookAnswersError(
            f"{source}: carries no answers (no {ANSWERS_MIME} output: the notebook was not run, or saved before the form showed)"
        )
    if isinstance(found, str):  # some writers store JSON outputs as text
        try:
            found = json.loads(found, parse_int=_no_long_numbers)
        except (ValueError, RecursionError):
            raise NotebookAnswersError(f"{source}: the carried answers are not valid JSON") from None
    return found


def answers_from_notebook(raw: bytes, source: str) -> "Answers":
    """Validate the carried answers exactly as an answers file is validated (AnswersError names the field)."""
    from .answers import answers_from_dict

    return answers_from_dict(carried_payload(raw, source), f"{source} (carried answers)")
