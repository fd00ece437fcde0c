"""The instructor dashboard's views (`notebooks/instructor_dashboard.ipynb` calls these, a line per cell).

    board = Dashboard("submissions/")        # grades into a fresh folder (or pass out_dir, overrides_file)
    board.table()                             # the class table, with a sort-by menu
    board.charts()                            # heatmap, step means with spread, top missed criteria
    board.frequencies()                       # anti-patterns, missed criteria, contested misses
    board.picker()                            # one learner's feedback page

Every view is an HTML string wrapped for display; learner text goes through `esc`.
Widgets (the sort menu and the picker) come from ipywidgets, imported on use.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from ..render import esc
from ..steps import STEP_IDS, STEPS_BY_ID
from . import GradeResult, grade_class_folder

SORT_KEYS = ["total", "learner", "scenario", *STEP_IDS, "anti_patterns", "contested_misses", "overrides"]
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)


class _Html:
    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self) -> str:
        return self.html


class Dashboard:
    def __init__(
        self, submissions_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, overrides_file: str | os.PathLike | None = None,
        *, comments_file: str | os.PathLike | None = None, jobs: int | None = None,
    ):
        """Grade the folder as `workbook grade` does, with the instructor's overrides if given, on every core unless `jobs`."""
        from .overrides import load_comments, load_overrides

        self.submissions_dir = Path(submissions_dir)
        if not self.submissions_dir.is_dir():
            raise FileNotFoundError(f"submissions_dir {self.submissions_dir} is not a folder of submissions")
        overrides = load_overrides(overrides_file, load_comments(comments_file))  # OverridesError: one line naming the file
        self.out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="workbook-class-"))
        if jobs is None:
            jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.result: GradeResult = grade_class_folder([self.submissions_dir], self.out, overrides=overrides, jobs=jobs)
        self.rows = self.result.graded.rows

    # --- text views ------------------------------------------------------------------------------

    def status(self) -> _Html:
        g = self.result.graded
        problems = "".join(f"<li>{esc(r.file)}: {esc(r.reason)}</li>" for r in g.rejected)
        problems += "".join(f"<li>{esc(line)}</li>" for line in g.problems)
        return _Html(
            f"<p><b>{len(g.rows)}</b> submissions graded, <b>{len(g.superseded)}</b> older saves set aside, "
            f"<b>{len(g.rejected)}</b> rejected, <b>{len(g.problems)}</b> override rows not applied. Files in <code>{esc(self.out)}</code>.</p>"
            + (f"<details><summary>Not graded</summary><ul>{problems}</ul></details>" if problems else "")
        )

    def sorted_rows(self, key: str = "total", descending: bool = True) -> list:
        if key not in SORT_KEYS:
            raise ValueError(f"sort by one of: {', '.join(SORT_KEYS)}")
        value = {
            "total": lambda r: r.total, "learner": lambda r: r.learner.casefold(), "scenario": lambda r: r.scenario,
            "anti_patterns": lambda r: len(r.anti_patterns), "contested_misses": lambda r: len(r.contested), "overrides": lambda r: r.overrides,
        }.get(key, lambda r: r.steps[key])
        return sorted(self.rows, key=value, reverse=descending)

    def table_html(self, key: str = "total", descending: bool = True) -> str:
        head = "".join(f"<th>{esc(h)}</th>" for h in ["learner", "scenario", "total", *[STEPS_BY_ID[s].title for s in STEP_IDS], "anti-patterns", "contested", "overrides"])
        body = "".join(
            f"<tr><td>{esc(r.learner)}</td><td>{esc(r.scenario)}</td><td><b>{r.total:.0f}</b></td>"
            + "".join(f"<td style='background:{_shade(r.steps[s])}'>{r.steps[s]:.0f}</td>" for s in STEP_IDS)
            + f"<td>{len(r.anti_patterns)}</td><td>{len(r.contested)}</td><td>{r.overrides or ''}</td></tr>"
            for r in self.sorted_rows(key, descending)
        )
        return f"<table class='wb-class'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def frequencies_html(self) -> str:
        data = self.result.summary

        def table(title: str, header: list[str], rows: list[list[object]]) -> str:
            head = "".join(f"<th>{esc(h)}</th>" for h in header)
            body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in rows) or f"<tr><td colspan='{len(header)}'>none</td></tr>"
            return f"<h4>{esc(title)}</h4><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

        return (
            table("Anti-patterns", ["anti-pattern", "submissions"], [[a["title"], a["count"]] for a in data["anti_patterns"]])
            + table("Most-missed criteria", ["scenario", "step", "criterion", "missed by"],
                    [[m["scenario"], STEPS_BY_ID[m["step"]].title, m["description"], m["count"]] for m in data["missed_criteria"]])
            + table("Contested misses (where the rubric may be wrong)", ["scenario", "step", "criterion", "claimed by"],
                    [[m["scenario"], STEPS_BY_ID[m["step"]].title, m["description"] or m["criterion"], m["count"]] for m in data["contested_misses"]])
        )

    def report_html(self, learner: str, scenario: str) -> str:
        """The body of one learner's feedback page (already escaped when it was written)."""
        for row in self.rows:
            if row.learner == learner and row.scenario == scenario:
                page = (self.out / row.report_file).read_text(encoding="utf-8")
                match = _BODY.search(page)
                return match.group(1) if match else page
        raise KeyError(f"no graded submission for {learner!r} in {scenario!r}")

    # --- notebook views ----------------------------------------------------------------------------

    def table(self):
        import ipywidgets as W

        sort = W.Dropdown(options=SORT_KEYS, value="total", description="Sort by")
        order = W.ToggleButtons(options=[("high first", True), ("low first", False)], value=True)
        view = W.HTML(self.table_html())

        def redraw(_change=None) -> None:
            view.value = self.table_html(sort.value, order.value)

        sort.observe(redraw, names="value")
        order.observe(redraw, names="value")
        return W.VBox([W.HBox([sort, order]), view])

    def charts(self) -> None:
        """Display the three charts, one output each (returns None so nothing is shown twice)."""
        from IPython.display import Image, display

        for path in self.result.charts:
            display(Image(filename=str(path)))

    def frequencies(self) -> _Html:
        return _Html(self.frequencies_html())

    def picker(self):
        import ipywidgets as W

        options = [(f"{r.learner} · {r.scenario}", (r.learner, r.scenario)) for r in sorted(self.rows, key=lambda r: (r.learner.casefold(), r.scenario))]
        choose = W.Dropdown(options=options, description="Learner", layout=W.Layout(width="40em"))
        view = W.HTML(self.report_html(*choose.value) if options else "<p>No graded submissions.</p>")
        choose.observe(lambda change: setattr(view, "value", self.report_html(*change["new"])), names="value")
        return W.VBox([choose, view])


def _shade(score: float) -> str:
    return "#f8d7da" if score < 40 else "#fff3cd" if score < 70 else "#d4edda"
