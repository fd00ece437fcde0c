"""The hand-in: export the design document (brief, every answer, the report) from the practice form.

`Export` is a part of `workbook.form.PracticeForm`; the documents themselves come from
`workbook.handin`, imported on the first export. Exports stay closed in a running mock
(the report shows the rubric). The status line says where the files were saved, with links.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import form_html as H
from .notebooks import report_stem


def shown_path(path: Path) -> str:
    """A path relative to the kernel's folder (where the notebook is), as a link there resolves."""
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:
        return str(path)



class Export:
    """The export actions of the practice form (mixed into PracticeForm)."""

    def export_design(self) -> tuple[Path, Path] | None:
        """Write the design document (brief, every answer, the report) as HTML and Markdown; say where."""
        if not self.revealing:
            self.export_status.value = H.notice_html("Exports open when the mock ends: the report shows the rubric.", "info")
            return None
        try:
            paths = self.export("html"), self.export("md")
        except OSError:
            return None
        saved = self._saved_note()
        links = [(shown_path(p), shown_path(p)) for p in paths]
        self.export_status.value = H.link_notice_html(f"Your design document was saved to: {saved}".strip(), links, "ok")
        return paths


    def export(self, fmt: str) -> Path | None:
        """Write the design document as `html` or `md` to the work folder (None in a running mock)."""
        if fmt not in ("html", "md"):
            raise ValueError("format must be 'html' or 'md'")
        if not self.revealing:
            self.export_status.value = H.notice_html("Exports open when the mock ends: the report shows the rubric.", "info")
            return None
        report = self.score()
        answers, claims = self.store.answers(), self._claims_by_step()
        from .handin import design_document_html, design_document_markdown  # only when exporting

        render = design_document_html if fmt == "html" else design_document_markdown
        text = render(self.scenario, answers, report, claims, mode=self.mode, clock=self.clock)
        target = self.work_dir / f"{report_stem(self.answers_path)}-design.{fmt}"
        try:
            from .answers import atomic_write_text

            atomic_write_text(target, text)
        except OSError as error:
            self.export_status.value = H.notice_html(f"Could not write {target}: {error}", "error")
            raise
        self.export_status.value = H.link_notice_html("Saved to", [(shown_path(target), shown_path(target))], "ok")
        return target

