"""Builds small valid scenario files for tests of the schema and the CLI."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from workbook.steps import STEP_IDS


def _step(step_id: str) -> dict:
    return {
        "questions": [f"What matters in {step_id}?"],
        "criteria": [
            {
                "id": f"{step_id.replace('_', '-')}-{n}",
                "description": f"Criterion {n} of {step_id}.",
                "weight": 1,
                "evidence": ["@success_metrics" if n == 1 else "refund* ~ limit|cap|{money}"],
                "probe": f"What about point {n}?",
            }
            for n in (1, 2, 3)
        ],
        "hints": ["Think about the user."],
        "reference_answer": "We cap refunds at $50 and measure the resolution rate weekly.",
    }


def minimal_scenario(scenario_id: str = "tiny-refunds") -> dict:
    return {
        "id": scenario_id,
        "title": "Tiny refunds",
        "level": "intro",
        "summary": "A tiny scenario for tests.",
        "brief": "A shop wants an assistant that refunds small orders.",
        "stakeholders": [{"name": "Shopper", "interest": "Gets money back quickly."}],
        "constraints": {"risk_level": "medium", "latency_budget": "3 s", "cost_budget": "$0.01 per chat"},
        "context_sources": [{"name": "Orders", "description": "Order records.", "access": "The shopper's own orders."}],
        "tools": [{"name": "issue_refund", "description": "Refunds an order.", "reversible": False}],
        "steps": {step_id: _step(step_id) for step_id in STEP_IDS},
        "anti_patterns": [
            {
                "id": "refund-everything",
                "title": "Refunding every request",
                "patterns": ["refund ~ every|all ~ request*"],
                "better": "Cap automatic refunds and send the rest to a person.",
                "steps": ["tool_execution"],
            }
        ],
    }


def write_scenario(folder: Path, data: dict, name: str | None = None) -> Path:
    path = folder / f"{name or data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def mutate(data: dict, dotted: str, value) -> dict:
    """A copy of `data` with the field at `a.b.0.c` set to `value` (or deleted when value is DELETE)."""
    data = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return data


DELETE = object()
