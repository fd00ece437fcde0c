"""Benchmark of the offline scorer.

Scores 1,000 varied answer sets (a few with 20 KB steps) and one 100 KB step of
each hostile text shape and of distinct design prose (the matcher's worst case),
and prints throughput, latency percentiles and the per-shape times. Machines
here are shared and noisy (the same build swings by half from run to run), so
every figure is measured several times and both the
best and the median are printed; the verdict against each target uses the best
(the run least disturbed by other work), and the median is shown beside it.
Figures are also given as ratios against a baseline measured in the same
process, interleaved with the runs: tokenising the same text with one
regular-expression pass (the least any scorer must do). To compare two versions
of the scorer, count instructions instead (bench_instructions.py): they repeat.

    .venv/bin/python benchmarks/bench_score.py
"""

from __future__ import annotations

import random
import re
import statistics
import time

from workbook import Answers, load_all, score
from workbook.steps import STEP_IDS

SETS = 1_000
PASSES = 3
SHAPE_RUNS = 11
SEED = 7
FILLER = (
    "We start with one region and measure the task success rate weekly. "
    "If the refund error rate passes 1%, we switch the feature off. "
    "The assistant cites the source for every claim and says when it is unsure. "
    "Costs stay under $0.05 per request and p95 latency under 3 s. "
)


def _varied_answer_sets(rng: random.Random) -> list[Answers]:
    scenarios, _ = load_all()
    pools = {
        s.id: [spec.reference_answer for spec in s.step_specs().values()] + [FILLER, "use AI", "", "canary, rollback, evals"]
        for s in scenarios.values()
    }
    sets = []
    for n in range(SETS):
        scenario_id = rng.choice(sorted(pools))
        pool = pools[scenario_id]
        answers = {}
        for step in STEP_IDS:
            words = " ".join(rng.sample(pool, k=2)).split()
            rng.shuffle(words)
            answers[step] = " ".join(words[: rng.randint(0, len(words))])
        if n % 50 == 0:  # some very long steps
            answers[rng.choice(STEP_IDS)] = (FILLER * 80)[:20_000]
        sets.append(Answers(scenario_id, answers))
    return sets, scenarios


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _distinct_design_prose() -> str:
    """100 KB of sentences that never repeat, made of the shipped reference answers' words: every pattern's
    words occur all over it, the worst case for the matcher (the other shapes repeat one short piece).
    A sentence that happens to read as addressed to the grader is dropped: it would zero the step, and
    the scorer would skip the search this shape is here to time."""
    from workbook.exclusions import grader_addressed
    from workbook.matching import analyse

    rng = random.Random(SEED)
    scenarios, _ = load_all()
    words = " ".join(spec.reference_answer for s in scenarios.values() for spec in s.step_specs().values()).split()
    pieces, size = [], 0
    while size < 100_000:
        piece = " ".join(rng.choice(words) for _ in range(rng.randint(6, 25))).rstrip(".;,") + rng.choice([". ", ".\n", "; ", "? ", ".\n- "])
        if not grader_addressed(analyse(piece)):
            pieces.append(piece)
            size += len(piece)
    return "".join(pieces)[:100_000]


# Hostile and odd text shapes, each about 100 KB in one step: every stage must stay linear on them.
SHAPES = {
    "8k role-label lines": lambda: "SYSTEM: ok.\n" * 8_500,
    "tags around words": lambda: "<system> x </system>. " * 4_500,
    "100k punctuation": lambda: ".,;:!?-" * 15_000,
    "one 50k-letter word": lambda: "a" * 50_000 + " refund " + "b" * 50_000,
    "50k one-word lines": lambda: "refund\n" * 15_000,
    "mixed scripts": lambda: "Refunds über 50 € — возврат 退款 払い戻し ✓ 🚀 " * 1_500,
    "repeated design prose": lambda: (FILLER * 400)[:100_000],
    "negations and quotes": lambda: 'We will not need "ignore the rubric" review, no canary; ' * 1_800,
    "distinct design prose": _distinct_design_prose,
}
STEP_BUDGET_MS = 50
SET_P99_BUDGET_MS = 30


def _shape_rows(scenario) -> list[tuple[str, int, float, float, float]]:
    """Per shape: size, best and median seconds of SHAPE_RUNS runs, and the best against the best tokenise-only run."""
    token = re.compile(r"\w+")
    rows = []
    for name, make in SHAPES.items():
        text = make()
        answers = Answers(scenario.id, {"safety_checks": text})
        score(answers, scenario)  # warm
        runs, bases = [], []
        for _ in range(SHAPE_RUNS):
            t0 = time.perf_counter()
            score(answers, scenario)
            runs.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            token.findall(text.lower())
            bases.append(time.perf_counter() - t0)
        rows.append((name, len(text.encode("utf-8")), min(runs), statistics.median(runs), min(runs) / max(min(bases), 1e-6)))
    return rows


def _import_check() -> list[str]:
    import subprocess
    import sys

    code = "import sys, workbook; print(' '.join(m for m in ('anthropic', 'matplotlib', 'papermill', 'nbformat', 'ipywidgets') if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def main() -> None:
    rng = random.Random(SEED)
    answer_sets, scenarios = _varied_answer_sets(rng)
    for answers in answer_sets[:20]:  # warm caches (compiled rubrics, stems)
        score(answers, scenarios[answers.scenario])

    token = re.compile(r"\w+")
    baseline_start = time.perf_counter()
    for answers in answer_sets:
        for text in answers.answers.values():
            token.findall(text.lower())
    baseline = time.perf_counter() - baseline_start

    pass_times, pass_p50, pass_p99 = [], [], []
    for _ in range(PASSES):
        latencies = []
        start = time.perf_counter()
        for answers in answer_sets:
            t0 = time.perf_counter()
            score(answers, scenarios[answers.scenario])
            latencies.append(time.perf_counter() - t0)
        pass_times.append(time.perf_counter() - start)
        pass_p50.append(_percentile(latencies, 0.5) * 1e3)
        pass_p99.append(_percentile(latencies, 0.99) * 1e3)
    elapsed = min(pass_times)
    p99 = min(pass_p99)

    print(f"answer sets scored:        {SETS} per pass, {PASSES} passes")
    print(f"throughput:                best pass {SETS / elapsed:,.0f} answer sets/s, median pass {SETS / statistics.median(pass_times):,.0f}/s")
    print(f"latency p50 per set:       best pass {min(pass_p50):.2f} ms, median pass {statistics.median(pass_p50):.2f} ms")
    print(f"latency p99 per set:       best pass {p99:.2f} ms, median pass {statistics.median(pass_p99):.2f} ms "
          f"(target < {SET_P99_BUDGET_MS} ms: {'ok' if p99 < SET_P99_BUDGET_MS else 'OVER'})")
    print(f"ratio to tokenise-only:    {elapsed / baseline:.1f}x (best pass), {statistics.median(pass_times) / baseline:.1f}x (median pass)")
    print(f"one 100 KB step of each text shape, best and median of {SHAPE_RUNS} (target < {STEP_BUDGET_MS} ms each, judged on the best):")
    for name, size, best, median, ratio in _shape_rows(scenarios[sorted(scenarios)[0]]):
        verdict = "ok" if best * 1e3 < STEP_BUDGET_MS else "OVER"
        print(f"  {name:<24} {size / 1000:5.0f} KB  best {best * 1e3:6.1f} ms  median {median * 1e3:6.1f} ms  {ratio:5.1f}x tokenise-only  {verdict}")
    heavy = _import_check()
    print(f"import workbook loads:     {', '.join(heavy) if heavy else 'none of anthropic, matplotlib, papermill, nbformat, ipywidgets'}")


if __name__ == "__main__":
    main()
