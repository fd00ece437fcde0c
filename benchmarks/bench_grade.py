"""`workbook grade` on a synthetic class, against executing a notebook per submission.

    .venv/bin/python benchmarks/bench_grade.py [--count 500] [--jobs 2] [--sample 10] [--runs 3]

1. Writes COUNT submissions across the scenarios (answers files and saved notebooks, mixed).
2. Times `workbook grade` end to end in a fresh process (gradebook, one HTML page per
   submission, summary, charts), RUNS times.
3. Times the execute-every-notebook approach in the same run: papermill running the
   practice notebook per submission, on a sample, scaled up to COUNT. The sample is
   split between the gaps of the grading runs, so that both sides see the same load
   on a shared machine.
4. Prints both and the ratio (against the median grading run, the verdict; and against
   the best, the run least disturbed by other work); then the peak RSS of grading 100 and 1,000 submissions
   (each in its own process, one job; the charts are drawn by a child process, whose
   peak is printed beside it) and the extrapolation to 100,000.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRACTICE = ROOT / "notebooks" / "design_loop.ipynb"
RSS_SCRIPT = (
    "import resource, sys\n"
    "from workbook.classroom import grade_class_folder\n"
    "grade_class_folder([sys.argv[1]], sys.argv[2], jobs=1)\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the CLI, its workers, the kernels)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def grade_cli(folder: Path, out: Path, jobs: int) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "workbook.cli", "grade", str(folder), "--out", str(out), "--jobs", str(jobs)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def papermill_sample(paths: list[Path], work: Path, offset: int = 0) -> float:
    """Seconds to execute the practice notebook once per submission (papermill API, a fresh kernel each)."""
    import papermill as pm

    from workbook.classroom.inputs import read_submission

    started = time.perf_counter()
    for index, path in enumerate(paths, offset):
        sub = read_submission(path)
        answers = work / f"{index}.answers.json"
        answers.write_text(json.dumps(sub.answers.to_dict()), encoding="utf-8")
        pm.execute_notebook(
            str(PRACTICE), str(work / f"{index}.out.ipynb"), parameters={"scenario_id": sub.answers.scenario, "answers_path": str(answers)},
            kernel_name="python3", cwd=str(work), progress_bar=False, log_output=False, shutdown_kernel="immediate",
        )
    return time.perf_counter() - started


def peak_rss_kb(folder: Path, out: Path) -> tuple[int, int]:
    """Peak RSS of the grading process and of its largest child (the chart process), in KB."""
    done = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(folder), str(out)], check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    own, child = done.stdout.strip().splitlines()[-1].split()
    return int(own), int(child)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--sample", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="grading runs (the papermill sample is split between them)")
    args = parser.parse_args()
    from workbook.classroom.demo import make_class

    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        base = Path(tmp)
        os.environ.setdefault("MPLCONFIGDIR", str(base / "mpl"))
        paths = make_class(base / "class", args.count)
        kinds = sum(p.suffix == ".ipynb" for p in paths)
        print(f"{args.count} submissions ({kinds} saved notebooks, {args.count - kinds} answers files) over 8 scenarios")
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows both sides alike)")
        (base / "pm").mkdir()
        runs = max(1, args.runs)
        # Grading runs and papermill pieces alternate: grade, papermill, grade, ..., grade.
        pieces = [paths[: args.sample][i :: runs - 1] for i in range(runs - 1)] if runs > 1 else []
        ours, ours_cpu, sample, sample_cpu = [], [], 0.0, 0.0
        for run in range(runs):
            shutil.rmtree(base / "graded", ignore_errors=True)
            cpu = cpu_seconds()
            ours.append(grade_cli(base / "class", base / "graded", args.jobs))
            ours_cpu.append(cpu_seconds() - cpu)
            print(f"workbook grade --jobs {args.jobs}, run {run + 1}: {ours[-1]:.2f} s end to end")
            if run < len(pieces):
                cpu = cpu_seconds()
                sample += papermill_sample(pieces[run], base / "pm", offset=sum(map(len, pieces[:run])))
                sample_cpu += cpu_seconds() - cpu
        if not pieces:
            cpu = cpu_seconds()
            sample = papermill_sample(paths[: args.sample], base / "pm")
            sample_cpu = cpu_seconds() - cpu
        pages = len(list((base / "graded" / "reports").iterdir()))
        median, best = statistics.median(ours), min(ours)
        print(f"workbook grade --jobs {args.jobs}: median {median:.2f} s, best {best:.2f} s of {runs} ({pages} HTML pages, gradebook, summary, 3 charts)")
        scaled = sample / args.sample * args.count
        print(f"papermill per submission: {sample:.2f} s for {args.sample} -> {scaled:.0f} s scaled to {args.count}")
        print(f"ratio: {scaled / median:.0f}x faster against the median run, {scaled / best:.0f}x against the best (target: at least 300x, under 10 s)")
        scaled_cpu = sample_cpu / args.sample * args.count
        cpu_median = statistics.median(ours_cpu)
        print(f"CPU seconds: workbook grade {cpu_median:.1f} (median), papermill {scaled_cpu:.0f} scaled; ratio {scaled_cpu / cpu_median:.0f}x")
        rss = {}
        for count in (100, 1000):
            make_class(base / f"class{count}", count, seed=count)
            rss[count], child = peak_rss_kb(base / f"class{count}", base / f"graded{count}")
            print(f"peak RSS grading {count:>5} submissions (one job): {rss[count] / 1024:.1f} MB, chart process {child / 1024:.1f} MB")
        per = (rss[1000] - rss[100]) / 900
        print(f"growth: {per:.2f} KB per submission; extrapolated to 100,000: {(rss[1000] + per * 99_000) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
