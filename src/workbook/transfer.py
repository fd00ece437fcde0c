"""Take your work home and bring it back: download and upload for ephemeral servers.

Binder deletes a session after about ten idle minutes, and a workshop server may
be wiped after the day. The transfer panel gives the learner two ways out and one
way back in:

    panel = transfer_panel(form)          # in the practice notebook, below the form
    panel.answers_download()              # (name, bytes) of the answers file
    panel.work_zip()                      # (name, bytes) of a zip of the work folder
    panel.restore(raw, "mine.json")       # -> Restored(ok, message)

Downloads are links with a `data:` URL, so they work in JupyterLab, Notebook 7
and Voilà alike (nothing is served from the file system). An upload is validated
exactly like an answers file on disk (`answers.decode_answers`); a corrupt file,
a file for another scenario or an oversized one is refused with one line saying
why, and the current answers stay as they are. An accepted upload first keeps the
current answers file aside (`NAME.replaced-TIME.json`), so even a mistaken
upload loses nothing.

ipywidgets is imported only when a panel is built.
"""

from __future__ import annotations

import base64
import html
import io
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .answers import MAX_ANSWERS_BYTES, Answers, AnswersError, decode_answers, quarantine
from .steps import STEP_IDS

MAX_ZIP_BYTES = 20_000_000  # a work folder larger than this is not offered as one download
MAX_ZIP_MEMBERS = 2_000
SKIPPED = (".lock", ".tmp")  # lock files and half-written temporaries are not the learner's work


@dataclass(frozen=True)
class Restored:
    ok: bool
    message: str


def _store_of(target: Any):
    """An AnswerStore, given a store or a practice form."""
    return getattr(target, "store", target)


def answers_bytes(store) -> bytes:
    """The answers as they stand in the form (pending edits included), in the answers-file format."""
    import json

    return (json.dumps(store.answers().to_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def zip_work_folder(folder: str | os.PathLike, *, limit: int = MAX_ZIP_BYTES) -> bytes:
    """A zip of every regular file under `folder` (symlinks, locks and temporaries left out).

    Raises ValueError naming the limit when the folder holds more than `limit` bytes
    or more than MAX_ZIP_MEMBERS files.
    """
    root = Path(folder)
    buffer = io.BytesIO()
    total = members = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if path.is_symlink() or not path.is_file() or path.name.endswith(SKIPPED) or path.name.startswith(".~"):
                continue
            size = path.stat().st_size
            total += size
            members += 1
            if total > limit or members > MAX_ZIP_MEMBERS:
                raise ValueError(f"{root.name}/ holds more than {limit // 1_000_000} MB or {MAX_ZIP_MEMBERS} files; download the answers file instead")
            archive.write(path, f"{root.name}/{path.relative_to(root).as_posix()}")
    return buffer.getvalue()


def _from_zip(raw: bytes, name: str, wanted: str) -> bytes:
    """The member called `wanted` (at any depth) of an uploaded zip, read with its size checked first."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise AnswersError(f"{name}: not a readable zip file") from None
    with archive:
        for info in archive.infolist():
            if info.filename.rsplit("/", 1)[-1] == wanted and not info.is_dir():
                if info.file_size > MAX_ANSWERS_BYTES:
                    raise AnswersError(f"{name}: {wanted} is larger than {MAX_ANSWERS_BYTES // 1_000_000} MB")
                with archive.open(info) as member:
                    data = member.read(MAX_ANSWERS_BYTES + 1)
                if len(data) > MAX_ANSWERS_BYTES:
                    raise AnswersError(f"{name}: {wanted} is larger than {MAX_ANSWERS_BYTES // 1_000_000} MB")
                return data
    raise AnswersError(f"{name}: the zip holds no {wanted}")


def parse_upload(raw: bytes, name: str, scenario_id: str, answers_name: str) -> Answers:
    """Validate an uploaded answers file (or a zip of a work folder holding one) for `scenario_id`.

    Raises AnswersError with one line naming the upload and what is wrong.
    """
    shown = Path(str(name)).name[:80] or "upload"
    if len(raw) > MAX_ANSWERS_BYTES and not shown.lower().endswith(".zip"):
        raise AnswersError(f"{shown}: larger than {MAX_ANSWERS_BYTES // 1_000_000} MB, so not an answers file")
    if raw[:4] == b"PK\x03\x04":
        if len(raw) > MAX_ZIP_BYTES:
            raise AnswersError(f"{shown}: a zip larger than {MAX_ZIP_BYTES // 1_000_000} MB")
        raw = _from_zip(raw, shown, answers_name)
    answers = decode_answers(raw, shown)
    if answers.scenario != scenario_id:
        raise AnswersError(f"{shown}: holds answers for scenario '{answers.scenario}', not '{scenario_id}'; open that scenario's notebook to restore it")
    return answers


def restore_answers(target: Any, raw: bytes, name: str) -> Restored:
    """Replace the answers of a form (or store) with an uploaded file; refuse with a reason, keeping the current ones."""
    store = _store_of(target)
    try:
        uploaded = parse_upload(bytes(raw), name, store.scenario_id, store.path.name)
    except AnswersError as error:
        return Restored(False, f"Not restored: {error}. Your current answers are unchanged.")
    if not store.can_save:
        return Restored(False, "Not restored: this form does not save (see the notice above). Your current answers are unchanged.")
    store.flush()
    kept = None
    if store.path.exists():
        try:
            kept = quarantine(store.path, "replaced")
        except (OSError, ValueError) as error:
            return Restored(False, f"Not restored: the current answers could not be kept aside ({error}). They are unchanged.")
    store._last_saved = None  # the file on disk was just moved aside on purpose
    store.learner = uploaded.learner
    if hasattr(uploaded, "claims"):
        store.claims = list(uploaded.claims)
    panels = getattr(target, "panels", None)
    for step in STEP_IDS:
        text = uploaded.text(step)
        if panels is not None:
            panels[step].value = text  # the form's text areas, word counts and tab marks follow
        else:
            store.texts[step] = text
    if not store.save():
        return Restored(False, "Not restored: the uploaded answers could not be saved (see the notice above).")
    answered = sum(1 for step in STEP_IDS if uploaded.text(step).strip())
    aside = f" Your previous answers were kept as {kept.name}." if kept else ""
    return Restored(True, f"Restored {answered} of {len(STEP_IDS)} steps from {Path(str(name)).name[:80]}.{aside}")


def data_link(name: str, payload: bytes, mime: str, label: str) -> str:
    """An HTML link that downloads `payload` as `name` (a data: URL; nothing is served from disk)."""
    encoded = base64.b64encode(payload).decode("ascii")
    safe = html.escape(name, quote=True)
    return (
        f'<a class="wb-download" download="{safe}" href="data:{mime};base64,{encoded}" '
        f'style="font-weight:600">{html.escape(label)}</a> <span style="color:#555">({len(payload):,} bytes)</span>'
    )


class TransferPanel:
    """Download buttons and an upload widget for one form's answers (see the module docstring).

    Shown closed: the intro and one button that opens the panel. The download buttons,
    the upload and the status line are made when it is opened (or when code touches
    them), since every widget is a comm message, also in a headless run. In app mode
    the panel opens at once: it shows the code that brings the visitor back.
    """

    PARTS = frozenset("answers_button zip_button upload link status".split())

    def __init__(self, target: Any, *, work_dir: str | os.PathLike | None = None, opened: bool = False):
        import ipywidgets as W
        from ipywidgets.widgets.widget_string import HTMLStyle

        self.target = target
        self.store = _store_of(target)
        self.work_dir = Path(work_dir) if work_dir is not None else self.store.path.parent
        # one style and layout per kind (each widget, layout and style is a comm message);
        # under a practice form, the form's own: the same values, no more comms
        shared = getattr(target, "_shared", None)
        if shared is not None:
            self._button_style, self._html_style = target._shared_style("button", W.ButtonStyle), target._html_style
            self._auto, self._plain = shared("button", width="auto"), shared("plain")
        else:
            self._button_style, self._html_style = W.ButtonStyle(), HTMLStyle()
            self._auto, self._plain = W.Layout(width="auto"), W.Layout()
        intro = (
            "<b>Keep your work.</b> On Binder or a workshop server your files are deleted when the session ends: "
            "download your answers before you leave, and upload them here next time to carry on."
        )
        from .app import current_visitor, visitor_html

        visitor = current_visitor()
        if visitor is not None:  # app mode: the code that brings this visitor back
            intro, opened = visitor_html(visitor) + intro, True
        self.intro = W.HTML(intro, style=self._html_style, layout=self._plain)
        self.opened = False
        if opened:
            self.widget = W.VBox(self._parts(), layout=self._plain, _dom_classes=("wb-transfer",))
        else:
            self.open_button = W.Button(description="Download or restore my answers", icon="download", layout=self._auto,
                                        style=self._button_style, tooltip="Show the download links and the upload")
            self.open_button.on_click(lambda _b: self.open())
            self.widget = W.VBox([self.intro, self.open_button], layout=self._plain, _dom_classes=("wb-transfer",))

    def __getattr__(self, name: str):
        # only called for missing attributes: the panel's parts are made when it is opened
        if name in TransferPanel.PARTS and "widget" in self.__dict__:
            self.open()
            return self.__dict__[name]
        raise AttributeError(name)

    def open(self) -> None:
        """Show the download buttons and the upload (made now, the first time)."""
        if not self.opened:
            self.widget.children = self._parts()

    def _parts(self) -> tuple:
        import ipywidgets as W

        self.opened = True
        style, auto = self._button_style, self._auto
        # the answers button keeps its own layout, which the start notebook's panel hides
        self.answers_button = W.Button(description="Download my answers", icon="download", layout=W.Layout(width="auto"),
                                       style=style, tooltip="A link to save the answers file on your computer")
        self.zip_button = W.Button(description=f"Download {self.work_dir.name}/ as a zip", icon="file-archive-o",
                                   layout=auto, style=style, tooltip="Everything in your work folder, in one zip")
        self.upload = W.FileUpload(accept=".json,.zip", multiple=False, description="Restore answers", layout=auto, style=style,
                                   tooltip="Upload an answers file (or a zip of my-work/) you downloaded earlier")
        self.link = W.HTML("", style=self._html_style, layout=self._plain)
        self.status = W.HTML("", style=self._html_style, layout=self._plain)
        self.answers_button.on_click(lambda _b: self.offer_answers())
        self.zip_button.on_click(lambda _b: self.offer_zip())
        self.upload.observe(self._uploaded, names="value")
        row = W.HBox([self.answers_button, self.zip_button, self.upload], layout=W.Layout(flex_flow="row wrap", align_items="center"))
        return (self.intro, row, self.link, self.status)

    def answers_download(self) -> tuple[str, bytes]:
        return self.store.path.name, answers_bytes(self.store)

    def work_zip(self) -> tuple[str, bytes]:
        self.store.flush()
        stamp = time.strftime("%Y%m%d-%H%M")
        return f"{self.work_dir.name}-{stamp}.zip", zip_work_folder(self.work_dir)

    def offer_answers(self) -> None:
        name, payload = self.answers_download()
        self.link.value = data_link(name, payload, "application/json", f"Save {name}")

    def offer_zip(self) -> None:
        try:
            name, payload = self.work_zip()
        except (OSError, ValueError) as error:
            self.link.value = ""
            self._say(f"No zip: {error}", False)
            return
        self.link.value = data_link(name, payload, "application/zip", f"Save {name}")

    def restore(self, raw: bytes, name: str) -> Restored:
        result = restore_answers(self.target, raw, name)
        self._say(result.message, result.ok)
        return result

    def _uploaded(self, change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        self.restore(bytes(item["content"]), str(item.get("name", "upload")))
        self.upload.value = ()  # the same file can be uploaded again

    def _say(self, message: str, ok: bool) -> None:
        colour = "#1b5e20" if ok else "#b71c1c"
        self.status.value = f'<span class="wb-transfer-status" style="color:{colour}">{html.escape(message)}</span>'

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class WorkPanel(TransferPanel):
    """The start notebook's panel: a zip of the whole work folder, and an upload that restores any scenario's answers."""

    def __init__(self, work_dir: str | os.PathLike | None = None):
        from .notebooks import work_dir as resolve

        folder = resolve(work_dir)
        super().__init__(_FolderTarget(folder), work_dir=folder, opened=True)
        self.answers_button.layout.display = "none"  # several scenarios: the zip holds them all

    def restore(self, raw: bytes, name: str) -> Restored:
        result = restore_into_folder(self.work_dir, raw, name)
        self._say(result.message, result.ok)
        return result


@dataclass
class _FolderTarget:
    """Stands in for a store where no form is open: only the folder is known."""

    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "answers.json"

    def flush(self) -> bool:
        return True


def restore_into_folder(folder: str | os.PathLike, raw: bytes, name: str) -> Restored:
    """Write an uploaded answers file (or the answers in a zip of my-work/) to its scenario's place in `folder`."""
    import json

    from .answers import atomic_write_text
    from .notebooks import default_answers_path
    from .scenario import ScenarioError, UnknownScenarioError, load_scenario

    shown = Path(str(name)).name[:80] or "upload"
    raw = bytes(raw)
    try:
        if raw[:4] == b"PK\x03\x04":
            return _restore_zip(folder, raw, shown)
        answers = decode_answers(raw, shown) if len(raw) <= MAX_ANSWERS_BYTES else None
        if answers is None:
            raise AnswersError(f"{shown}: larger than {MAX_ANSWERS_BYTES // 1_000_000} MB, so not an answers file")
        load_scenario(answers.scenario)
    except (AnswersError, ScenarioError, UnknownScenarioError) as error:
        return Restored(False, f"Not restored: {' '.join(str(error).split())}. Your current answers are unchanged.")
    mode = "mock" if shown == f"{answers.scenario}-mock.answers.json" else "practice"
    target = default_answers_path(answers.scenario, mode, folder)
    kept = None
    try:
        if target.exists():
            kept = quarantine(target, "replaced")
        atomic_write_text(target, json.dumps(answers.to_dict(), indent=2, ensure_ascii=False) + "\n")
    except (OSError, ValueError) as error:
        return Restored(False, f"Not restored: {error}. Your current answers are unchanged.")
    aside = f" Your previous answers were kept as {kept.name}." if kept else ""
    return Restored(True, f"Restored your answers for {answers.scenario} into {target.parent.name}/{target.name}.{aside}")


def _restore_zip(folder: str | os.PathLike, raw: bytes, shown: str) -> Restored:
    """Every `*.answers.json` in an uploaded zip, each validated; the first problem refuses the whole zip."""
    if len(raw) > MAX_ZIP_BYTES:
        raise AnswersError(f"{shown}: a zip larger than {MAX_ZIP_BYTES // 1_000_000} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise AnswersError(f"{shown}: not a readable zip file") from None
    with archive:
        names = sorted({info.filename.rsplit("/", 1)[-1] for info in archive.infolist()
                        if info.filename.endswith(".answers.json") and not info.is_dir()})
    if not names:
        raise AnswersError(f"{shown}: the zip holds no .answers.json file")
    found = [(wanted, decode_answers(_from_zip(raw, shown, wanted), f"{shown}: {wanted}")) for wanted in names]
    results = [restore_into_folder(folder, _encode(a), wanted) for wanted, a in found]
    ok = all(r.ok for r in results)
    return Restored(ok, " ".join(r.message for r in results))


def _encode(answers: Answers) -> bytes:
    import json

    return json.dumps(answers.to_dict(), ensure_ascii=False).encode("utf-8")


def work_panel(*, work_dir: str | os.PathLike | None = None, display: bool = True) -> WorkPanel:
    """Build (and show) the start notebook's panel: download my-work/ as a zip, restore answers from a file."""
    panel = WorkPanel(work_dir)
    if display:
        from IPython.display import display as show

        show(panel.widget)
    return panel


def transfer_panel(target: Any, *, work_dir: str | os.PathLike | None = None, display: bool = True) -> TransferPanel:
    """Build (and show) the download/upload panel for a practice form or an AnswerStore."""
    panel = TransferPanel(target, work_dir=work_dir)
    if display:
        from IPython.display import display as show

        show(panel.widget)
    return panel
