"""Instructions the scorer executes, counted by valgrind: a measure the machine's noise cannot move.

Wall-clock figures here swing by half or more from one run to the next (shared 2-core
machines), so a 5% change cannot be seen in bench_score.py. Cachegrind counts the CPU
instructions of a run instead, which repeats to within about 0.5%. Each workload runs
twice, once warming every cache and once more; the difference is the cost of the
second scoring. With `--against REV`, the same workloads run on the scorer at git
revision REV too and the ratio is printed.

    .venv/bin/python benchmarks/bench_instructions.py                 # this tree
    .venv/bin/python benchmarks/bench_instructions.py --against HEAD~3  # and a ratio to an older scorer

Needs valgrind (`apt-get install valgrind`). Each workload takes about half a minute.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ["100 answer sets", "the slowest answer sets", "8k role-label lines", "tags around words", "distinct design prose"]
SLOWEST = (150, 300, 421, 900, 250, 788, 564, 800)  # the bench's p99 tail: 20 KB steps and dense word salad

# Runs inside valgrind: score the workload once (warm), and once more when asked.
_RUN = """
import random, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import bench_score as b
from workbook import Answers, load_all, score
work, again = sys.argv[3], sys.argv[4] == "1"
if work in ("100 answer sets", "the slowest answer sets"):
    b.SETS = 200 if work == "100 answer sets" else 1000
    sets, scenarios = b._varied_answer_sets(random.Random(b.SEED))
    chosen = sets[100:200] if work == "100 answer sets" else [sets[i] for i in %r]
    items = [(a, scenarios[a.scenario]) for a in chosen]
else:
    scenarios, _ = load_all()
    scenario = scenarios[sorted(scenarios)[0]]
    items = [(Answers(scenario.id, {"safety_checks": b.SHAPES[work]()}), scenario)]
for answers, scenario in items:
    score(answers, scenario)
if again:
    for answers, scenario in items:
        score(answers, scenario)
""" % (SLOWEST,)


def _instructions(src: Path, work: str, again: bool) -> int:
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               sys.executable, "-c", _RUN, str(src), str(ROOT / "benchmarks"), work, "1" if again else "0"]
    run = subprocess.run(command, capture_output=True, text=True)
    counted = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if run.returncode or not counted:
        sys.exit(f"bench_instructions: {work} on {src} failed:\n" + "\n".join(run.stderr.splitlines()[-8:]))
    return int(counted.group(1).replace(",", ""))


def _second_scoring(src: Path, work: str) -> int:
    return _instructions(src, work, True) - _instructions(src, work, False)


def _checkout(revision: str, into: Path) -> Path:
    """The package and the shipped exercises at `revision`, unpacked under `into`."""
    found = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src", "exercises"], capture_output=True)
    if found.returncode:
        sys.exit(f"bench_instructions: --against {revision}: {found.stderr.decode(errors='replace').strip()}")
    archive = found.stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="also count the scorer at this git revision, and print the ratio")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("bench_instructions: valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        old = _checkout(args.against, Path(tmp)) if args.against else None
        print(f"{'workload':<26} {'this tree':>14}" + (f" {args.against:>14} {'ratio':>7}" if old else ""))
        for work in WORKLOADS:
            new = _second_scoring(ROOT / "src", work)
            line = f"{work:<26} {new / 1e6:>12.0f} M"
            if old:
                before = _second_scoring(old, work)
                line += f" {before / 1e6:>12.0f} M {new / before:>7.3f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
