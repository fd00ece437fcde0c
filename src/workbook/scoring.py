"""The offline scorer: instant, deterministic, explainable rubric scoring.

How a step is scored (each stage is one small function below):

1. The text is split into segments (sentences, bullets, lines) and stemmed.
2. Segments that earn nothing are set aside, each with a reason the learner sees:
   text addressed to the grader, a sentence that matches an anti-pattern, and
   text repeated from an earlier step.
3. Every rubric criterion looks for its evidence patterns in the remaining
   segments. Its credit is the best segment's *quality*: a keyword fragment
   earns a little, a real sentence most, a sentence with numbers or a stated
   mechanism ("if X, we do Y") all of it.
4. Step score = weighted criterion credit × grounding (does the step talk about
   *this* scenario?) − anti-pattern penalties, clipped to 0–100.

Every stage can only remove or discount text, never add, so appending
grader-addressed text or an anti-pattern sentence can never raise a score.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import msgspec

from .answers import Answers, answers_from_dict, load_answers
from .lexicon import AntiPattern, expand, global_anti_patterns, make_anti_pattern
from .matching import Pattern, Segment, Text, analyse, find, stem
from .report import AntiPatternHit, CriterionResult, Report, StepReport
from .scenario import Scenario, load_scenario
from .steps import STEP_IDS, STEPS_BY_ID

FRAGMENT_CREDIT = 0.35  # a criterion found only in a keyword or list fragment
SENTENCE_CREDIT = 0.8  # found in a plain sentence
SPECIFIC_CREDIT = 1.0  # found in a sentence with a number or a stated mechanism
MAX_PENALTY = 45.0  # anti-patterns can cost a step at most this much
REPEAT_OVERLAP = 0.6  # share of a segment's word triples seen before that makes it a repeat
QUOTE_CHARS = 180

FUNCTION_WORDS = frozenset(
    """a an the to of in on for with by from at as into over under within than and or but if when
    whenever unless until once then so because while before after we i you they it its our their
    this that these those is are be been was were will would should can could must may might do does
    not no only each every any all per which who what how where there here have has had""".split()
)
CONDITIONALS = frozenset(stem(w) for w in "if when whenever unless until once otherwise then after before".split())
GENERIC_WORDS = frozenset(
    stem(w)
    for w in """model models ai system systems user users data team teams product products company
    customer customers tool tools assistant agent agents time need needs want wants make use using
    help helps internal first new one two what who which their them they with from that this into""".split()
)

# Text addressed to the grader rather than to the design problem. Bounded gaps only.
_GRADER_ADDRESSED = re.compile(
    r"(?:^|\n)\s*(?:system|assistant|grader|developer|instruction)s?\s*:"
    r"|</?\s*(?:system|instructions?|prompt|grader)\s*>"
    r"|\bignore\b[^.\n]{0,40}\b(?:rubric|instructions?|criteria|grading|scoring|prompt|above|previous|prior)\b"
    r"|\bdisregard\b[^.\n]{0,40}\b(?:rubric|instructions?|criteria|grading|scoring|prompt|above|previous|prior)\b"
    r"|\b(?:award|give|assign|grant|mark)\b[^.\n]{0,30}\b(?:full|maximum|max|perfect|top|all the)\s+(?:marks?|scores?|points?|credit)\b"
    r"|\b(?:full|maximum|perfect|top)\s+(?:marks?|score|points)\b"
    r"|\b(?:score|grade|rate|mark)\s+(?:this|me|it|my answer|the answer)\b[^.\n]{0,25}\b(?:100|10/10|perfect|highly|maximum|full)\b"
    r"|\byou\s+(?:are|act as|must act as)\s+(?:now\s+)?(?:a|an|the)\s+(?:grader|evaluator|scorer|examiner|marker)\b"
    r"|\b(?:dear|attention|note to(?: the)?|hey)\s+(?:grader|evaluator|scorer|examiner|marker|ai|model|llm)\b"
    r"|\bas an? (?:ai|language model)\b[^.\n]{0,30}\b(?:must|should|will)\b"
    r"|\b(?:this|my) answer (?:is|deserves) (?:perfect|excellent|100)",
    re.IGNORECASE,
)
_THREAT_TALK = re.compile(r"\b(?:inject|attack|malicious|adversar|jailbreak|untrusted|hostile)", re.IGNORECASE)


@dataclass
class _Criterion:
    id: str
    description: str
    weight: float
    probe: str
    patterns: tuple[Pattern, ...]


@dataclass
class _CompiledScenario:
    scenario: Scenario
    criteria: dict[str, list[_Criterion]]
    anti_patterns: dict[str, list[AntiPattern]]
    vocabulary: frozenset[str]


_compiled: dict[int, _CompiledScenario] = {}


def _compile(scenario: Scenario) -> _CompiledScenario:
    cached = _compiled.get(id(scenario))
    if cached is not None and cached.scenario is scenario:
        return cached
    antis = list(global_anti_patterns()) + [make_anti_pattern(msgspec.structs.asdict(a), scenario.id) for a in scenario.anti_patterns]
    compiled = _CompiledScenario(
        scenario=scenario,
        criteria={
            step_id: [_Criterion(c.id, c.description, c.weight, c.probe, expand(c.evidence)) for c in spec.criteria]
            for step_id, spec in scenario.step_specs().items()
        },
        anti_patterns={step_id: [a for a in antis if step_id in a.steps] for step_id in STEP_IDS},
        vocabulary=_scenario_vocabulary(scenario),
    )
    if len(_compiled) > 64:
        _compiled.clear()
    _compiled[id(scenario)] = compiled
    return compiled


def _scenario_vocabulary(scenario: Scenario) -> frozenset[str]:
    """Content words of the brief, people, sources and tools: what 'talking about this scenario' means."""
    parts = [scenario.title, scenario.summary, scenario.brief]
    parts += [f"{s.name} {s.interest}" for s in scenario.stakeholders]
    parts += [f"{s.name} {s.description}" for s in scenario.context_sources]
    parts += [f"{t.name.replace('_', ' ')} {t.description}" for t in scenario.tools]
    keys = analyse(" ".join(parts)).keys
    return frozenset(k for k in keys if len(k) > 3 and k.isalpha() and k not in FUNCTION_WORDS and k not in GENERIC_WORDS)


# --- segment classification ---------------------------------------------------------------


def _grader_addressed(segment: Segment) -> bool:
    return bool(_GRADER_ADDRESSED.search(segment.text)) and not _THREAT_TALK.search(segment.text)


def _is_fragment(text: Text, segment: Segment) -> bool:
    """A keyword or a list of keywords rather than a sentence."""
    count = segment.end - segment.start
    if count < 5:
        return True
    items = [item for item in re.split(r"[,/;]|\band\b", segment.text) if item.strip()]
    if len(items) >= 3 and count / len(items) <= 3.2:
        return True
    function_words = sum(1 for key in text.keys[segment.start : segment.end] if key in FUNCTION_WORDS)
    return function_words / count < 0.15


def _is_specific(text: Text, segment: Segment) -> bool:
    """Has a number, or states a mechanism as a condition and a consequence."""
    keys = text.keys[segment.start : segment.end]
    if any(key[0].isdigit() for key in keys):
        return True
    return len(keys) >= 8 and any(key in CONDITIONALS for key in keys)


def _shingles(keys: list[str]) -> set[tuple[str, ...]]:
    if len(keys) < 3:
        return {tuple(keys)} if keys else set()
    return {tuple(keys[i : i + 3]) for i in range(len(keys) - 2)}


def _quote(segment: Segment) -> str:
    text = " ".join(segment.text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


@dataclass
class _StepText:
    text: Text
    excluded: dict[int, str]  # segment index -> reason it earns nothing
    quality: dict[int, float]  # segment index -> credit multiplier for counted segments
    hits: list[AntiPatternHit]
    flags: list[str]


def _classify(step_id: str, raw: str, antis: list[AntiPattern], seen: dict[tuple[str, ...], str]) -> _StepText:
    text = analyse(raw)
    excluded: dict[int, str] = {}
    flags: list[str] = []
    title = STEPS_BY_ID[step_id].title
    for segment in text.segments:
        if _grader_addressed(segment):
            excluded[segment.index] = "Ignored text addressed to the grader"
            flags.append(f"grader_addressed_text: {step_id}: ignored “{_quote(segment)}”")
    hits: list[AntiPatternHit] = []
    for anti in antis:
        found = sorted({index for pattern in anti.patterns for index in find(text, pattern)})
        if found:
            quote = _quote(text.segments[found[0]])
            hits.append(AntiPatternHit(anti.id, anti.title, step_id, quote, anti.better, anti.source, anti.penalty))
            for index in found:
                excluded.setdefault(index, f"Anti-pattern: {anti.title}")
    repeated_from: set[str] = set()
    for segment in text.segments:
        shingles = _shingles(text.keys[segment.start : segment.end])
        if segment.index not in excluded and len(shingles) >= 2:
            sources = [seen[s] for s in shingles if s in seen]
            if len(sources) >= REPEAT_OVERLAP * len(shingles):
                excluded[segment.index] = f"Repeated from {STEPS_BY_ID[sources[0]].title}: earns credit once"
                repeated_from.add(sources[0])
    for segment in text.segments:  # register everything, counted or not, for later steps
        for shingle in _shingles(text.keys[segment.start : segment.end]):
            seen.setdefault(shingle, step_id)
    for source in sorted(repeated_from, key=STEP_IDS.index):
        flags.append(f"repeated_text: {step_id}: repeats text from {source}; it earns credit once ({title})")
    quality = {
        s.index: FRAGMENT_CREDIT if _is_fragment(text, s) else SPECIFIC_CREDIT if _is_specific(text, s) else SENTENCE_CREDIT
        for s in text.segments
        if s.index not in excluded
    }
    return _StepText(text, excluded, quality, hits, flags)


# --- scoring ------------------------------------------------------------------------------------


def _grounding(step: _StepText, vocabulary: frozenset[str]) -> float:
    """1.0 when the counted text names at least three things from this scenario; less when generic."""
    mentioned = {
        key
        for index in step.quality
        for key in step.text.keys[step.text.segments[index].start : step.text.segments[index].end]
        if key in vocabulary
    }
    return 0.6 + 0.4 * min(1.0, len(mentioned) / 3)


def _judge_criterion(criterion: _Criterion, step: _StepText) -> tuple[CriterionResult, float]:
    """The criterion's result and its credit (0 to 1): the quality of its best counted segment."""
    best_index, best_quality = -1, 0.0
    for pattern in criterion.patterns:
        for index in find(step.text, pattern):
            quality = step.quality.get(index, 0.0)
            if quality > best_quality:
                best_index, best_quality = index, quality
    result = CriterionResult(criterion.id, criterion.description, criterion.weight, met=best_index >= 0, probe=criterion.probe)
    if best_index >= 0:
        result.quote = _quote(step.text.segments[best_index])
        result.specific = best_quality >= SPECIFIC_CREDIT
    return result, best_quality


def _step_report(step_id: str, raw: str, compiled: _CompiledScenario, seen: dict) -> tuple[StepReport, list[str]]:
    step = _classify(step_id, raw, compiled.anti_patterns[step_id], seen)
    criteria = compiled.criteria[step_id]
    results, credit = [], 0.0
    for criterion in criteria:
        result, quality = _judge_criterion(criterion, step)
        credit += criterion.weight * quality
        results.append(result)
    coverage = 100.0 * credit / sum(c.weight for c in criteria)
    penalty = min(MAX_PENALTY, sum(hit.penalty for hit in step.hits))
    score = max(0.0, min(100.0, coverage * _grounding(step, compiled.vocabulary) - penalty))
    report = StepReport(step_id, round(score, 1), results, step.hits, words=len(step.text.keys))
    report.feedback = _feedback(report, step)
    report.next_move = _next_move(report, step)
    return report, step.flags


def _feedback(report: StepReport, step: _StepText) -> list[str]:
    notes = []
    for c in report.criteria:
        if c.met:
            notes.append(f"Met: {c.description} — “{c.quote}”")
        else:
            notes.append(f"Missing: {c.description} Ask yourself: {c.probe}")
    for hit in report.anti_patterns:
        notes.append(f"Anti-pattern: {hit.title} — “{hit.quote}”. Better: {hit.better}")
    for index, reason in sorted(step.excluded.items()):
        if not reason.startswith("Anti-pattern"):
            notes.append(f"{reason}: “{_quote(step.text.segments[index])}”")
    if step.text.keys and step.quality and all(q == FRAGMENT_CREDIT for q in step.quality.values()):
        notes.append("Only keywords or fragments: write full sentences that say how the idea works here.")
    return notes


def _next_move(report: StepReport, step: _StepText) -> str:
    if not step.text.keys:
        return f"Start this step: {STEPS_BY_ID[report.step].question}"
    if report.anti_patterns:
        hit = report.anti_patterns[0]
        return f"Rewrite “{hit.quote}”: {hit.better}"
    missed = sorted((c for c in report.criteria if not c.met), key=lambda c: -c.weight)
    if missed:
        return missed[0].probe
    vague = [c for c in report.criteria if not c.specific]
    if vague:
        return f"Make it concrete with a number or an if-then rule: {vague[0].description}"
    return "Strong step. Say out loud what you would cut if the budget were halved."


def _as_answers(answers: Answers | dict | str | os.PathLike) -> Answers:
    if isinstance(answers, Answers):
        return answers
    if isinstance(answers, dict):
        return answers_from_dict(answers)
    return load_answers(answers)


def score(answers: Answers | dict | str | os.PathLike, scenario: Scenario | None = None) -> Report:
    """Score an answer set against its scenario's rubric. Pure, offline and deterministic."""
    answers = _as_answers(answers)
    scenario = scenario or load_scenario(answers.scenario)
    compiled = _compile(scenario)
    seen: dict[tuple[str, ...], str] = {}
    steps: dict[str, StepReport] = {}
    flags: list[str] = []
    for step_id in STEP_IDS:
        steps[step_id], step_flags = _step_report(step_id, answers.text(step_id), compiled, seen)
        flags += step_flags
    empty = [s for s in STEP_IDS if not answers.text(s).strip()]
    if empty:
        flags.append(f"empty_steps: {len(empty)} of {len(STEP_IDS)} steps have no answer ({', '.join(empty)})")
    weights = {step_id: spec.weight for step_id, spec in scenario.step_specs().items()}
    total = sum(weights[s] * steps[s].score for s in STEP_IDS) / sum(weights.values())
    return Report(scenario.id, "offline", round(total, 1), steps, flags, scenario.title, answers.learner)
