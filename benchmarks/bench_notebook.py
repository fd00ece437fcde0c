"""Headless cost of the practice notebook against the kernel-start floor.

Runs, interleaved in one process with papermill's Python API:

* floor: a one-cell notebook whose only cell is `pass` (kernel start + papermill overhead);
* report only: one cell that loads the same answers and scenario, scores them and
  displays the report's JSON, with no widgets: what the scorer's first use costs a
  headless run, whatever the form does;
* practice: notebooks/design_loop.ipynb with a scenario's reference answers (loads,
  builds the form, scores, displays the report).

Prints the median, min and max of each and the ratios of medians. Target: practice
<= 1.3x the floor (issue 10). The gap between "report only" and "practice" is what
the form itself costs (ipywidgets, the widgets, the extra cells).

    .venv/bin/python benchmarks/bench_notebook.py [--rounds 7] [--scenario ID] [--check] [--components]

`--check` exits 1 when the ratio misses the target.

`--components` splits the practice notebook's cost instead. Every variant keeps the
notebook's own cells (markdown, parameters, the injected parameters) and replaces only
the form cell and the report cell: nothing (`pass`: the cells' own cost), `import
ipywidgets`, the report-only code, both, and the real notebook. A last cell in every
variant (the floor too) prints the kernel's CPU time, a figure the machine's load moves
less than wall time; each line gives wall and kernel CPU above the floor's.

Kernels may write bytecode caches (PYTHONDONTWRITEBYTECODE is dropped, as on a
learner's machine, where an installed package has its .pyc files); pass
`--no-bytecode-cache` to keep it and pay the compile of every workbook module
in every kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "design_loop.ipynb"
TARGET = 1.3
REPORT_ONLY = """import workbook
from IPython.display import display
from workbook.answers import load_answers

answers = load_answers({answers!r})
report = workbook.score(answers, workbook.load_scenario(answers.scenario))
display({{workbook.REPORT_MIME: report.to_dict(), "text/plain": report.to_text()}}, raw=True)"""


def isolate(folder: Path) -> None:
    """Keep Jupyter, IPython and matplotlib away from $HOME (the kernel spec stays in sys.prefix)."""
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        path = folder / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(path)
    os.environ["WORKBOOK_WORK_DIR"] = str(folder / "my-work")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scenario", default=None, help="scenario id (default: the first one)")
    parser.add_argument("--kernel", default="python3")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if the ratio is above {TARGET}")
    parser.add_argument("--components", action="store_true", help="split the practice notebook's cost into its parts")
    parser.add_argument("--no-bytecode-cache", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if it is set")
    args = parser.parse_args(argv)
    bytecode_env = os.environ.get("PYTHONDONTWRITEBYTECODE")
    if bytecode_env and not args.no_bytecode_cache:
        del os.environ["PYTHONDONTWRITEBYTECODE"]

    folder = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    isolate(folder)
    import nbformat
    import papermill as pm

    import workbook

    scenarios, _ = workbook.load_all()
    scenario = scenarios[args.scenario] if args.scenario else next(iter(scenarios.values()))
    answers = folder / "answers.json"
    answers.write_text(json.dumps({"scenario": scenario.id, "answers": {s: scenario.step(s).reference_answer for s in workbook.STEP_IDS}}))
    floor_nb = folder / "floor.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    nb.metadata["kernelspec"] = {"name": args.kernel, "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, floor_nb)

    def run(path: Path, parameters: dict) -> float:
        start = time.perf_counter()
        pm.execute_notebook(
            str(path), str(folder / "out.ipynb"), parameters=parameters, kernel_name=args.kernel,
            progress_bar=False, log_output=False, shutdown_kernel="immediate", cwd=str(NOTEBOOK.parent),
        )
        return time.perf_counter() - start

    report_nb = folder / "report-only.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(REPORT_ONLY.format(answers=str(answers)))])
    nb.metadata["kernelspec"] = {"name": args.kernel, "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, report_nb)

    practice_params = {"scenario_id": scenario.id, "answers_path": str(answers)}
    if args.components:
        return components(folder, run, REPORT_ONLY.format(answers=str(answers)), practice_params, args.rounds)
    run(floor_nb, {})  # warm-up: file caches, .pyc files
    run(report_nb, {})
    run(NOTEBOOK, practice_params)
    floor, report_only, practice = [], [], []
    for _ in range(args.rounds):
        floor.append(run(floor_nb, {}))
        report_only.append(run(report_nb, {}))
        practice.append(run(NOTEBOOK, practice_params))
    ratio = statistics.median(practice) / statistics.median(floor)
    # a figure the machine's load does not move: widgets (each a comm message) the practice run made
    saved = json.loads((folder / "out.ipynb").read_text(encoding="utf-8"))
    widgets = len(saved.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {}))
    cache = "off (PYTHONDONTWRITEBYTECODE kept)" if bytecode_env and args.no_bytecode_cache else "on"
    print(f"scenario: {scenario.id}, rounds: {args.rounds} (interleaved, after one warm-up each), bytecode cache: {cache}")
    for name, values in (("floor (one `pass` cell)", floor), ("report only (no widgets)", report_only), ("practice notebook", practice)):
        print(f"{name:<26} median {statistics.median(values):.3f} s   min {min(values):.3f} s   max {max(values):.3f} s"
              f"   {statistics.median(values) / statistics.median(floor):.2f}x floor")
    print(f"widget models in the practice run's saved state: {widgets}")
    print(f"ratio (median practice / median floor): {ratio:.2f}x   target <= {TARGET}x   {'OK' if ratio <= TARGET else 'OVER TARGET'}")
    return 1 if args.check and ratio > TARGET else 0


CPU_CELL = "import time\nprint('kernel CPU', time.process_time())"


def components(folder: Path, run, report_code: str, params: dict, rounds: int) -> int:
    """Wall and kernel CPU of the practice notebook with its form and report cells swapped for parts of them."""
    import nbformat

    practice = nbformat.read(NOTEBOOK, as_version=4)
    form_cell = next(i for i, c in enumerate(practice.cells) if "practice(" in c.source)
    report_cell = next(i for i, c in enumerate(practice.cells) if "show_report()" in c.source)

    def variant(form_code: str | None, report: str | None) -> nbformat.NotebookNode:
        nb = nbformat.from_dict(json.loads(json.dumps(practice)))
        if form_code is not None:
            nb.cells[form_cell] = nbformat.v4.new_code_cell(form_code)
            nb.cells[report_cell] = nbformat.v4.new_code_cell(report)
        nb.cells.append(nbformat.v4.new_code_cell(CPU_CELL))
        return nb

    floor = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass"), nbformat.v4.new_code_cell(CPU_CELL)],
                                     metadata=practice.metadata)
    variants = {
        "floor (one `pass` cell)": (floor, {}),
        "the notebook's cells, no code": (variant("pass", "pass"), params),
        "+ import ipywidgets": (variant("import ipywidgets", "pass"), params),
        "+ report only (no widgets)": (variant(report_code, "pass"), params),
        "+ ipywidgets and report": (variant("import ipywidgets\n" + report_code, "pass"), params),
        "practice notebook": (variant(None, None), params),
    }
    paths = {}
    for n, (name, (nb, _)) in enumerate(variants.items()):
        paths[name] = folder / f"component-{n}.ipynb"
        nbformat.write(nb, paths[name])
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}

    def once(name: str) -> tuple[float, float]:
        seconds = run(paths[name], variants[name][1])
        out = json.loads((folder / "out.ipynb").read_text(encoding="utf-8"))
        text = "".join("".join(o.get("text", "")) for o in out["cells"][-1]["outputs"])  # a string or a list of lines
        return seconds, float(text.split()[-1])

    for name in variants:
        once(name)  # warm-up
    for _ in range(rounds):
        for name in variants:
            seconds, kernel = once(name)
            wall[name].append(seconds)
            cpu[name].append(kernel)
    median = statistics.median
    floor_wall, floor_cpu = median(wall["floor (one `pass` cell)"]), median(cpu["floor (one `pass` cell)"])
    print(f"rounds: {rounds} (interleaved, after one warm-up each); medians; kernel CPU = the kernel process's CPU time at its last cell")
    for name in variants:
        print(f"{name:<32} wall {median(wall[name]):.3f} s ({median(wall[name]) / floor_wall:.2f}x, {1000 * (median(wall[name]) - floor_wall):+5.0f} ms)"
              f"   kernel CPU {median(cpu[name]):.3f} s ({1000 * (median(cpu[name]) - floor_cpu):+5.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
