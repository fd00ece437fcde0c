"""Grading a whole class in one Message Batch, resumable and never stranding a learner.

`grade_class` sends one request per answer set that has uncached steps, all in
one batch, and saves the batch id in the output folder before it polls; run it
again after an interruption and it picks the same batch up. Results are matched
by `custom_id` (they come back in any order). An item that errored, expired or
came back malformed is graded offline and listed in `ClassResult.errored`.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from ..answers import Answers, atomic_write_text
from ..report import Report
from ..scenario import Scenario
from ..scoring import score
from .claude import ClaudeGrader, GradingError
from .costs import Estimate, Usage
from .verdicts import StepVerdict, build_report

STATE_FILE = "claude-batch.json"


@dataclass
class ClassResult:
    reports: dict[str, Report]
    errored: dict[str, str] = field(default_factory=dict)  # submission -> why it was graded offline
    batch_id: str | None = None
    usage: Usage = field(default_factory=Usage)


def _load_state(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state.get("batch_id"), str) or not isinstance(state.get("requests"), dict):
            raise ValueError
    except (OSError, ValueError, AttributeError):
        raise GradingError(f"{path}: not a batch state file; move it aside to start a new batch") from None
    return state


def grade_class(
    submissions: Mapping[str, Answers],
    scenarios: Mapping[str, Scenario],
    out_dir: str | os.PathLike,
    grader: ClaudeGrader,
    *,
    confirm: Callable[[Estimate], bool] | None = None,
    progress: Callable[[str, dict], None] | None = None,
    poll_interval: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ClassResult:
    """Grade `submissions` (name -> answers). `confirm` sees the estimate before a new batch is created."""
    out = Path(out_dir)
    state_path = out / STATE_FILE
    plans: dict[str, tuple[Scenario, dict[str, StepVerdict], dict[str, str]]] = {}
    for name, answers in submissions.items():
        scenario = scenarios[answers.scenario]
        plans[name] = (scenario, *grader.plan(answers, scenario))
    state = _load_state(state_path)
    if state is None:
        state = _create(plans, grader, state_path, confirm)
    result = ClassResult({}, batch_id=state["batch_id"] if state else None)
    received = _collect(state, plans, grader, result, progress, poll_interval, sleep) if state else {}
    for name, answers in submissions.items():
        scenario, known, to_send = plans[name]
        if to_send and name not in received:
            reason = result.errored.setdefault(name, "no result in the batch")
            report = score(answers, scenario)
            report.flags.insert(0, f"Claude could not grade this ({reason}); this is the offline result.")
            result.reports[name] = report
            continue
        result.reports[name] = build_report(scenario, answers, known | received.get(name, {}), grader.name)
    return result


def _create(plans, grader: ClaudeGrader, state_path: Path, confirm) -> dict | None:
    requests, entries, jobs = [], {}, []
    for index, (name, (scenario, _, to_send)) in enumerate(plans.items()):
        if not to_send:
            continue
        custom_id = f"set-{index:05d}"
        requests.append({"custom_id": custom_id, "params": grader.request_for(scenario, to_send)})
        entries[custom_id] = {"name": name, "keys": {s: grader._key_for(scenario, s, t) for s, t in to_send.items()}}
        jobs.append((scenario, to_send))
    if not requests:
        return None
    if confirm is not None and not confirm(grader.estimate(jobs, batch=True)):
        raise GradingError("cancelled before anything was sent")
    batch = grader._call(lambda: grader.client().messages.batches.create(requests=requests))
    state = {"batch_id": batch.id, "model": grader.model, "requests": entries}
    atomic_write_text(state_path, json.dumps(state, indent=2, ensure_ascii=False) + "\n")
    return state


def _collect(state, plans, grader: ClaudeGrader, result: ClassResult, progress, poll_interval, sleep) -> dict[str, dict[str, StepVerdict]]:
    client = grader.client()
    batch_id = state["batch_id"]
    while True:
        batch = grader._call(lambda: client.messages.batches.retrieve(batch_id))
        if progress is not None:
            progress(batch.processing_status, batch.request_counts.model_dump())
        if batch.processing_status == "ended":
            break
        sleep(poll_interval)
    received: dict[str, dict[str, StepVerdict]] = {}
    for item in grader._call(lambda: list(client.messages.batches.results(batch_id))):
        entry = state["requests"].get(item.custom_id)
        if entry is None or entry["name"] not in plans:
            continue
        name = entry["name"]
        scenario, _, to_send = plans[name]
        if item.result.type != "succeeded":
            result.errored[name] = f"the batch item {item.result.type}" + _error_type(item.result)
            continue
        result.usage.add(Usage.from_sdk(item.result.message.usage))
        try:
            verdicts = _verdicts(item.result.message, scenario, entry, grader)
        except GradingError as error:
            result.errored[name] = str(error)
            continue
        stale = [s for s, t in to_send.items() if grader._key_for(scenario, s, t) != entry["keys"].get(s)]
        if stale:
            result.errored[name] = f"answers changed since the batch was sent ({', '.join(stale)})"
            continue
        received[name] = verdicts
    return received


def _verdicts(message, scenario: Scenario, entry: dict, grader: ClaudeGrader) -> dict[str, StepVerdict]:
    from .schema import Judgement

    text = "".join(block.text for block in message.content if block.type == "text")
    judgement = grader._call(lambda: Judgement.model_validate_json(text))
    return grader.accept(judgement, scenario, entry["keys"])


def _error_type(result) -> str:
    error = getattr(getattr(result, "error", None), "error", None)
    kind = getattr(error, "type", "")
    return f" ({kind})" if kind else ""
