"""App mode: one Voilà server for a room, a private work folder for every visitor.

    workbook app support-refund-agent --port 8866

Voilà runs the practice notebook with its code cells hidden, one kernel per
page load. Every kernel starts in the same folder, so `my-work/` beside the
notebook would be shared by the whole room. In app mode (`$WORKBOOK_APP_ROOT`
set by `serve`) `workbook.notebooks.work_dir()` asks this module instead:

* a visitor who opens the app URL with nothing else gets a new **resume code**
  (`K7QF-M2XP-3B`, shown in the panel under the form) and a folder of their own;
* `?code=K7QF-M2XP-3B` brings a visitor back to that folder;
* `?name=Ada Lovelace` keys the folder by a name instead (for a room whose
  names are unique; anyone who types the same name shares the folder).

Neither the code nor the name is ever used as a path: both are normalised and
hashed (SHA-256), and the folder is `ROOT/visitors/<first 24 hex digits>`.
Voilà passes the page's query string to the kernel as $QUERY_STRING.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote

APP_ROOT_ENV = "WORKBOOK_APP_ROOT"
VISITORS = "visitors"
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O or U to misread
CODE_LENGTH = 10
MAX_NAME = 80
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


class AppError(ValueError):
    """The app cannot start (no Voilà, an unknown scenario, a bad port): one line."""


@dataclass(frozen=True)
class Visitor:
    kind: str  # "code" or "name"
    key: str  # the normalised code, or the normalised name
    folder: Path
    new: bool  # a code made for this page load (the visitor brought none)

    @property
    def resume_query(self) -> str:
        return f"?{self.kind}={quote(self.key)}"

    @property
    def shown_key(self) -> str:
        return format_code(self.key) if self.kind == "code" else self.key


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def normalize_code(text: str) -> str | None:
    """`k7qf-m2xp-3b` -> `K7QFM2XP3B`; None unless it is CODE_LENGTH characters of the alphabet."""
    cleaned = "".join(ch for ch in str(text).upper() if ch not in " -_").translate(_CONFUSABLE)
    if len(cleaned) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in cleaned):
        return None
    return cleaned


def normalize_name(text: str) -> str | None:
    """A name as a key: NFKC, case-folded, spaces collapsed, control characters dropped; None if empty or too long."""
    name = unicodedata.normalize("NFKC", str(text))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" or ch == " ")
    name = " ".join(name.casefold().split())
    if not name or len(name) > MAX_NAME:
        return None
    return name


def folder_for(root: str | os.PathLike, kind: str, key: str) -> Path:
    """The visitor's folder under root: a hash of (kind, key), never the key itself."""
    digest = hashlib.sha256(f"workbook-visitor\0{kind}\0{key}".encode("utf-8")).hexdigest()[:24]
    return Path(root).resolve() / VISITORS / digest


def visitor_from_query(query: str | None, root: str | os.PathLike) -> Visitor:
    """The visitor a query string names (`code=` or `name=`), or a new one with a fresh code."""
    params = parse_qs(query or "", keep_blank_values=False, max_num_fields=20)
    for raw in params.get("code", [])[:1]:
        code = normalize_code(raw)
        if code is not None:
            return Visitor("code", code, folder_for(root, "code", code), False)
    for raw in params.get("name", [])[:1]:
        name = normalize_name(raw)
        if name is not None:
            return Visitor("name", name, folder_for(root, "name", name), False)
    code = new_code()
    return Visitor("code", code, folder_for(root, "code", code), True)


_CURRENT: Visitor | None = None  # one kernel serves one page load: one visitor


def current_visitor() -> Visitor | None:
    """This kernel's visitor in app mode (decided once, from $QUERY_STRING); None outside app mode."""
    global _CURRENT
    root = os.environ.get(APP_ROOT_ENV)
    if not root:
        return None
    if _CURRENT is None:
        _CURRENT = visitor_from_query(os.environ.get("QUERY_STRING"), root)
    return _CURRENT


def visitor_work_dir() -> Path:
    visitor = current_visitor()
    if visitor is None:
        raise AppError(f"not in app mode (${APP_ROOT_ENV} is not set)")
    return visitor.folder


def visitor_html(visitor: Visitor) -> str:
    """What the visitor must know to come back: their code (or name) and the link with it."""
    import html

    key = html.escape(visitor.shown_key)
    link = html.escape(visitor.resume_query, quote=True)
    what = "Your resume code" if visitor.kind == "code" else "Your work is kept under the name"
    return (
        f'<div class="wb-visitor"><b>{what}: <code class="wb-resume-code">{key}</code></b>. '
        f'Write it down: to come back to your answers, open <a href="{link}">this link</a> '
        f"(the app's address ending in <code>{link}</code>). Anyone with the code can open your answers.</div>"
    )


# --- serving -------------------------------------------------------------------------------


def prepare_app_notebook(root: str | os.PathLike, scenario_id: str | None) -> Path:
    """The practice notebook, parameterised for the scenario, with no answers path: each visitor's comes from their folder."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from .answers import atomic_write_text
    from .notebooks import DEFAULT_TIME_LIMIT, _one_parameters_cell, find_template
    from .scenario import load_scenario

    template = find_template()
    nb = load_notebook_node(str(template))
    name = "practice"
    if scenario_id:
        scenario = load_scenario(scenario_id)
        parameters = {"scenario_id": scenario.id, "answers_path": None, "grader": "offline", "mode": "practice",
                      "time_limit_minutes": DEFAULT_TIME_LIMIT}
        nb = _one_parameters_cell(parameterize_notebook(nb, parameters, report_mode=False))
        name = scenario.id
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("papermill", None)
    target = Path(root).resolve() / "app" / f"{name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, nbformat.writes(nb) + "\n")
    return target


def voila_command(notebook: Path, port: int, ip: str) -> list[str]:
    return [
        sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", f"--Voila.ip={ip}",
    ]


def app_environment(root: Path, exercises: str | None = None) -> dict[str, str]:
    env = dict(os.environ, **{APP_ROOT_ENV: str(root)})
    env.pop("WORKBOOK_WORK_DIR", None)  # one shared folder is exactly what app mode avoids
    if exercises:
        env["WORKBOOK_EXERCISES"] = str(Path(exercises).resolve())
    return env


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def serve(scenario_id: str | None, *, port: int = 8866, root: str | os.PathLike | None = None,
          ip: str = "127.0.0.1", exercises: str | None = None) -> int:
    """Prepare the app notebook and run Voilà in the foreground until interrupted."""
    if not 0 < port < 65536:
        raise AppError(f"--port must be between 1 and 65535, got {port}")
    try:
        import voila  # noqa: F401
    except ImportError:
        raise AppError('app mode needs Voilà: pip install "workbook[app]"') from None
    if exercises:
        os.environ["WORKBOOK_EXERCISES"] = str(Path(exercises).resolve())
    folder = Path(root or "workbook-app").resolve()
    notebook = prepare_app_notebook(folder, scenario_id)
    print(f"workbook app: serving {notebook.name} on http://{ip}:{port}/ (visitors' folders in {folder / VISITORS}); Ctrl-C stops it")
    process = subprocess.Popen(voila_command(notebook, port, ip), env=app_environment(folder, exercises), cwd=notebook.parent)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            return 130
