""""I covered this": the learner contests a missed criterion by pointing at a sentence of their answer.

A claim is data in the answers file (`AnswerStore.add_claim`), shown as claimed by
the learner and never as met; the score does not change. `Claims` is a part of
`workbook.form.PracticeForm`: the row of two dropdowns and a button under a step's
feedback, and the two actions behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as W

from . import form_html as H
from .form_panel import sentences

if TYPE_CHECKING:
    from .form_panel import StepPanel
    from .store import Claim


class Claims:
    """The claim actions and views of the practice form (mixed into PracticeForm)."""

    def claim(self, step_id: str, criterion_id: str, sentence: str) -> Claim:
        """The learner says `sentence` of their answer covers a missed or partly met criterion."""
        panel = self.panel(step_id)
        if not self.revealing:
            raise ValueError("claims open when the mock ends")
        if panel.last_step is None:
            raise ValueError(f"check step {step_id} first; a claim contests a missed criterion")
        ids = {c.id for c in panel.last_step.criteria if H.criterion_state(c) != "met"}
        if criterion_id not in ids:
            raise ValueError(f"{step_id}: {criterion_id}: not a missed or partly covered criterion of the last check")
        if sentence.strip() not in panel.value:
            raise ValueError(f"{step_id}: the claimed sentence is not in your answer")
        claim = self.store.add_claim(step_id, criterion_id, sentence.strip())
        panel.show_feedback()
        self._refresh_live()
        return claim


    def withdraw_claim(self, step_id: str, criterion_id: str) -> None:
        self.store.remove_claim(step_id, criterion_id)
        self.panels[step_id].show_feedback()
        self._refresh_live()


    def _claims_view(self, panel: StepPanel, claims: dict[str, Claim]) -> None:
        """One row under the feedback: criterion, the learner's sentence, and the button."""
        open_ = [c for c in panel.last_step.criteria if H.criterion_state(c) != "met"]
        options = sentences(panel.value)
        if not open_ or not options:
            panel.claim_box.children = []
            return
        if panel.claim_row is None:
            which = W.Dropdown(description="I covered", style={"description_width": "initial"}, layout=W.Layout(width="auto", max_width="28em"))
            where = W.Dropdown(description="in", style={"description_width": "initial"}, layout=W.Layout(width="auto", max_width="36em"))
            go = self._button("I covered this", icon="hand-paper-o", tooltip="Record that this sentence covers it; the score does not change")
            go.on_click(lambda _b: self._claim_clicked(panel))
            which.observe(lambda _c: self._claim_button_label(panel), names="value")
            panel.claim_row = W.HBox([which, where, go], layout=self._shared("row", align_items="center", flex_flow="row wrap"))
        which, where, _ = panel.claim_row.children
        which.options = [(c.description[:80], c.id) for c in open_]
        where.options = [(s if len(s) <= 90 else s[:87] + "…", s) for s in options]
        which.index, where.index = 0, 0  # show a choice, not an empty box
        self._claim_button_label(panel)
        panel.claim_box.children = [panel.claim_row]


    def _claim_button_label(self, panel: StepPanel) -> None:
        which, _, go = panel.claim_row.children
        go.description = "Withdraw my claim" if which.value in self.store.claims_for(panel.step.id) else "I covered this"


    def _claim_clicked(self, panel: StepPanel) -> None:
        which, where, _ = panel.claim_row.children
        if which.value is None or where.value is None:
            return
        if which.value in self.store.claims_for(panel.step.id):
            self.withdraw_claim(panel.step.id, which.value)
        else:
            self.claim(panel.step.id, which.value, where.value)

