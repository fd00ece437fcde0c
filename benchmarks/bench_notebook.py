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

    .venv/bin/python benchmarks/bench_notebook.py [--rounds 7] [--scenario ID] [--check]

`--check` exits 1 when the ratio misses the target.

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


if __name__ == "__main__":
    sys.exit(main())
