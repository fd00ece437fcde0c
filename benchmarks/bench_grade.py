"""`workbook grade` on a synthetic class, against executing a notebook per submission.

    .venv/bin/python benchmarks/bench_grade.py [--count 500] [--jobs 2] [--sample 10]

1. Writes COUNT submissions across the scenarios (answers files and saved notebooks, mixed).
2. Times `workbook grade` end to end in a fresh process (gradebook, one HTML page per
   submission, summary, charts).
3. Times the execute-every-notebook approach in the same run: papermill running the
   practice notebook per submission, on a sample, scaled up to COUNT.
4. Prints both and the ratio; then the peak RSS of grading 100 and 1,000 submissions
   (each in its own process, one job; the charts are drawn by a child process, whose
   peak is printed beside it) and the extrapolation to 100,000.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def papermill_sample(paths: list[Path], work: Path) -> float:
    """Seconds to execute the practice notebook once per submission (papermill API, a fresh kernel each)."""
    import papermill as pm

    from workbook.classroom.inputs import read_submission

    started = time.perf_counter()
    for index, path in enumerate(paths):
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
    args = parser.parse_args()
    from workbook.classroom.demo import make_class

    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        base = Path(tmp)
        os.environ.setdefault("MPLCONFIGDIR", str(base / "mpl"))
        paths = make_class(base / "class", args.count)
        kinds = sum(p.suffix == ".ipynb" for p in paths)
        print(f"{args.count} submissions ({kinds} saved notebooks, {args.count - kinds} answers files) over 8 scenarios")
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows both sides alike)")
        cpu = cpu_seconds()
        ours = grade_cli(base / "class", base / "graded", args.jobs)
        ours_cpu = cpu_seconds() - cpu
        pages = len(list((base / "graded" / "reports").iterdir()))
        print(f"workbook grade --jobs {args.jobs}: {ours:.2f} s end to end ({pages} HTML pages, gradebook, summary, 3 charts)")
        (base / "pm").mkdir()
        cpu = cpu_seconds()
        sample = papermill_sample(paths[: args.sample], base / "pm")
        sample_cpu = cpu_seconds() - cpu
        scaled = sample / args.sample * args.count
        print(f"papermill per submission: {sample:.2f} s for {args.sample} -> {scaled:.0f} s scaled to {args.count}")
        print(f"ratio: {scaled / ours:.0f}x faster (target: at least 300x, under 10 s)")
        scaled_cpu = sample_cpu / args.sample * args.count
        print(f"CPU seconds: workbook grade {ours_cpu:.1f}, papermill {scaled_cpu:.0f} scaled; ratio {scaled_cpu / ours_cpu:.0f}x")
        rss = {}
        for count in (100, 1000):
            make_class(base / f"class{count}", count, seed=count)
            rss[count], child = peak_rss_kb(base / f"class{count}", base / f"graded{count}")
            print(f"peak RSS grading {count:>5} submissions (one job): {rss[count] / 1024:.1f} MB, chart process {child / 1024:.1f} MB")
        per = (rss[1000] - rss[100]) / 900
        print(f"growth: {per:.2f} KB per submission; extrapolated to 100,000: {(rss[1000] + per * 99_000) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
