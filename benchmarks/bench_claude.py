"""Tokens and cost of Claude grading, over the fake Messages API (no network, no real key).

For a class of 30 answer sets on one scenario, graded one request per set:
tokens per set with the rubric cached (the shipped prompt) and without the
cache marker, the share of input tokens served from the cache, and the cost per
set at the default model's list price (see `workbook.graders.costs`).

The fake counts a token per 4 characters; a real tokenizer differs, so read the
ratios, not the absolute counts. Real prompt caching also needs the cached
prefix to reach the model's minimum cacheable length.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_anthropic import TEST_KEY, FakeAnthropic  # noqa: E402
from workbook import load_scenario  # noqa: E402
from workbook.graders import claude as claude_module  # noqa: E402
from workbook.graders.claude import ClaudeGrader  # noqa: E402
from workbook.graders.costs import Usage, price  # noqa: E402

CLASS_SIZE = 30
ROOT = Path(__file__).resolve().parents[1]


def class_answers():
    import yaml

    from workbook import Answers

    sets = yaml.safe_load((ROOT / "tests" / "calibration" / "support-refund-agent.yaml").read_text())
    texts = [entry["answers"] for entry in sets["sets"]]
    return [Answers("support-refund-agent", {k: f"{v}\n(Learner {n}.)" for k, v in texts[n % len(texts)].items()}) for n in range(CLASS_SIZE)]


def run(cached: bool) -> Usage:
    scenario = load_scenario("support-refund-agent")
    original = claude_module.grading_request
    if not cached:  # the same prompt without the cache marker
        def uncached(*args, **kwargs):
            params = original(*args, **kwargs)
            params["system"] = [{k: v for k, v in block.items() if k != "cache_control"} for block in params["system"]]
            return params
        claude_module.grading_request = uncached
    try:
        with FakeAnthropic() as fake, tempfile.TemporaryDirectory() as cache:
            grader = ClaudeGrader(api_key=TEST_KEY, base_url=fake.base_url, cache_dir=cache)
            for answers in class_answers():
                report = grader.grade(answers, scenario)
                assert report.grader == "claude", grader.last_error
            return grader.usage
    finally:
        claude_module.grading_request = original


def main() -> None:
    model = claude_module.default_model()
    rates = price(model)
    with_cache, without = run(True), run(False)
    for label, usage in (("rubric cached", with_cache), ("no cache marker", without)):
        total_in = usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens
        print(f"{label:>16}: {total_in / CLASS_SIZE:7.0f} input + {usage.output_tokens / CLASS_SIZE:5.0f} output tokens per set; "
              f"${usage.cost(model) / CLASS_SIZE:.5f} per set")
    total_in = with_cache.input_tokens + with_cache.cache_creation_input_tokens + with_cache.cache_read_input_tokens
    print(f"share of input tokens read from the cache over {CLASS_SIZE} sets: {with_cache.cache_read_input_tokens / total_in:.0%}")
    print(f"cost ratio cached / uncached: {with_cache.cost(model) / without.cost(model):.2f}")
    print(f"batch (50% off) per set, cached: ${with_cache.cost(model, batch=True) / CLASS_SIZE:.5f}")
    print(f"list price assumed for {model}: ${rates[0]} input, ${rates[1]} cache write, ${rates[2]} cache read, ${rates[3]} output per million tokens")


if __name__ == "__main__":
    main()
