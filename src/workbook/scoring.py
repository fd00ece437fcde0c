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
4. Step score = (85% weighted criterion credit + 15% coverage of the step's
   general concepts) × grounding (does the step talk about
   *this* scenario?) − anti-pattern penalties, clipped to 0–100. An anti-pattern
   is caught in every step; it costs its full penalty in the steps it lists and
   half elsewhere.

Every stage can only remove or discount text, never add, so appending
grader-addressed text or an anti-pattern sentence can never raise a score.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import msgspec

from .answers import Answers, answers_from_dict, load_answers
from .lexicon import AntiPattern, Concept, expand, global_anti_patterns, make_anti_pattern, step_concepts
from .matching import Pattern, PatternSet, Segment, Text, analyse, stem
from .report import AntiPatternHit, CriterionResult, Report, StepReport
from .scenario import Scenario, load_scenario
from .steps import STEP_IDS, STEPS_BY_ID

FRAGMENT_CREDIT = 0.1  # a criterion found only in a keyword or list fragment
SENTENCE_CREDIT = 0.8  # found in a plain sentence
SPECIFIC_CREDIT = 1.0  # found in a sentence with a number or a stated mechanism
TOPIC_SHARE = 0.15  # share of a step's score earned by the step's general concepts, rubric aside
TOPIC_CONCEPTS_FOR_FULL = 3  # that many of them, in real sentences, earn the whole share
MAX_PENALTY = 45.0  # anti-patterns can cost a step at most this much
OFF_STEP_PENALTY = 0.5  # share of the penalty in a step the anti-pattern does not list
REPEAT_OVERLAP = 0.6  # share of a segment's word triples seen before that makes it a repeat
QUOTE_CHARS = 180

FUNCTION_WORDS = frozenset(
    """a an the to of in on for with by from at as into over under within than and or but if when
    whenever unless until once then so because while before after we i you they it its our their
    this that these those is are be been was were will would should can could must may might do does
    not no only each every any all per which who what how where there here have has had""".split()
)
CONDITIONALS = frozenset(stem(w) for w in "if when whenever unless until once otherwise then after before".split())
NEGATIONS = frozenset(
    stem(w) for w in "not never no without avoid instead rather don't won't cannot can't isn't shouldn't doesn't nor neither".split()
)
GENERIC_WORDS = frozenset(
    stem(w)
    for w in """model models ai system systems user users data team teams product products company
    customer customers tool tools assistant agent agents time need needs want wants make use using
    help helps internal first new one two what who which their them they with from that this into""".split()
)

# Text addressed to the grader rather than to the design problem. Each rule is a
# regular expression with bounded gaps only, guarded by word groups the text
# must share a word with (a set operation on its vocabulary) and by substrings
# one of which it must contain: the expressions run only on the rare text that
# could match.
def _rule(word_groups: str, markers: str, expression: str) -> tuple[tuple[frozenset[str], ...], tuple[str, ...], re.Pattern[str]]:
    groups = tuple(frozenset(group.split()) for group in word_groups.split(";"))
    return groups, tuple(markers.split()), re.compile(expression, re.IGNORECASE)


_GRADER_RULES = (
    _rule("system instruction instructions prompt grader", "<", r"</?\s*(?:system|instructions?|prompt|grader)\s*>"),
    _rule("ignore disregard; rubric instruction instructions criteria grading scoring prompt above previous prior", "",
          r"\b(?:ignore|disregard)\b[^.\n]{0,40}\b(?:rubric|instructions?|criteria|grading|scoring|prompt|above|previous|prior)\b"),
    _rule("full maximum max perfect top all; mark marks score scores point points credit", "",
          r"\b(?:full|maximum|max|perfect|top|all the)\s+(?:marks?|scores?|points?|credit)\b"),
    _rule("score grade rate mark; this me it my the", "100 10/10 perfect highly maximum full",
          r"\b(?:score|grade|rate|mark)\s+(?:this|me|it|my answer|the answer)\b[^.\n]{0,25}(?:\b100\b|10/10|\bperfect|\bhighly|\bmaximum|\bfull)"),
    _rule("you; grader evaluator scorer examiner marker", "",
          r"\byou\s+(?:are|act as|must act as)\s+(?:now\s+)?(?:a|an|the)\s+(?:grader|evaluator|scorer|examiner|marker)\b"),
    _rule("dear attention note hey; grader evaluator scorer examiner marker ai model llm", "",
          r"\b(?:dear|attention|note to(?: the)?|hey)\s+(?:grader|evaluator|scorer|examiner|marker|ai|model|llm)\b"),
    _rule("as; ai language; must should will", "", r"\bas an? (?:ai|language model)\b[^.\n]{0,30}\b(?:must|should|will)\b"),
    _rule("this my; answer; is deserves", "", r"\b(?:this|my) answer (?:is|deserves) (?:perfect|excellent|100)"),
)
# A line that opens with a role label ("SYSTEM:", "Grader:"), as injected prompts do.
_ROLE_WORDS = frozenset("system systems assistant assistants grader graders developer developers instruction instructions".split())
_ROLE_LINE = re.compile(r"\s*(?:system|assistant|grader|developer|instruction)s?\s*:", re.IGNORECASE)
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
    anti_patterns: list[AntiPattern]
    vocabulary: frozenset[str]
    pattern_sets: dict[str, PatternSet]  # per step: its criteria's, topic concepts' and anti-patterns' patterns
    topics: dict[str, list[Concept]]
    anti_of_pattern: dict[Pattern, AntiPattern]
    criterion_owners: dict[str, _Owners]  # per step: pattern -> the criteria that use it
    topic_owners: dict[str, _Owners]  # per step: pattern -> the topic concepts that use it


_compiled: dict[int, _CompiledScenario] = {}


def _compile(scenario: Scenario) -> _CompiledScenario:
    cached = _compiled.get(id(scenario))
    if cached is not None and cached.scenario is scenario:
        return cached
    antis = list(global_anti_patterns()) + [make_anti_pattern(msgspec.structs.asdict(a), scenario.id) for a in scenario.anti_patterns]
    criteria = {
        step_id: [_Criterion(c.id, c.description, c.weight, c.probe, expand(c.evidence)) for c in spec.criteria]
        for step_id, spec in scenario.step_specs().items()
    }
    anti_patterns = [pattern for anti in antis for pattern in anti.patterns]
    topics = {step_id: step_concepts(step_id) for step_id in STEP_IDS}
    compiled = _CompiledScenario(
        scenario=scenario,
        criteria=criteria,
        anti_patterns=antis,
        vocabulary=_scenario_vocabulary(scenario),
        pattern_sets={
            step_id: PatternSet(
                [p for c in step_criteria for p in c.patterns] + [p for c in topics[step_id] for p in c.patterns] + anti_patterns
            )
            for step_id, step_criteria in criteria.items()
        },
        topics=topics,
        anti_of_pattern={pattern: anti for anti in antis for pattern in anti.patterns},
        criterion_owners={step_id: _owners([c.patterns for c in step_criteria]) for step_id, step_criteria in criteria.items()},
        topic_owners={step_id: _owners([c.patterns for c in concepts]) for step_id, concepts in topics.items()},
    )
    if len(_compiled) > 64:
        _compiled.clear()
    _compiled[id(scenario)] = compiled
    return compiled


# Pattern -> (owner number, rank of the pattern among the owner's patterns) for each owner using it.
_Owners = dict[Pattern, tuple[tuple[int, int], ...]]


def _owners(pattern_groups: list[tuple[Pattern, ...]]) -> _Owners:
    owners: dict[Pattern, list[tuple[int, int]]] = {}
    for owner, patterns in enumerate(pattern_groups):
        for rank, pattern in enumerate(dict.fromkeys(patterns)):
            owners.setdefault(pattern, []).append((owner, rank))
    return {pattern: tuple(links) for pattern, links in owners.items()}


def _scenario_vocabulary(scenario: Scenario) -> frozenset[str]:
    """Content words of the brief, people, sources and tools: what 'talking about this scenario' means."""
    parts = [scenario.title, scenario.summary, scenario.brief]
    parts += [f"{s.name} {s.interest}" for s in scenario.stakeholders]
    parts += [f"{s.name} {s.description}" for s in scenario.context_sources]
    parts += [f"{t.name.replace('_', ' ')} {t.description}" for t in scenario.tools]
    keys = analyse(" ".join(parts)).keys
    return frozenset(k for k in keys if len(k) > 3 and k.isalpha() and k not in FUNCTION_WORDS and k not in GENERIC_WORDS)


# --- segment classification ---------------------------------------------------------------


def _grader_addressed_segments(text: Text) -> list[Segment]:
    """Segments holding text addressed to the grader, unless they discuss such attacks."""
    found: dict[int, Segment] = {}
    for start, end in _grader_addressed_spans(text):
        for segment in text.segments:
            if segment.char_end > start and segment.char_start < end and not _THREAT_TALK.search(segment.text):
                found[segment.index] = segment
    return [found[index] for index in sorted(found)]


def _grader_addressed_spans(text: Text) -> list[tuple[int, int]]:
    spans = []
    vocabulary = text.vocabulary
    for word_groups, markers, expression in _GRADER_RULES:
        for group in word_groups:
            if group.isdisjoint(vocabulary):
                break
        else:
            if not markers or any(marker in text.lowered for marker in markers):
                spans += [match.span() for match in expression.finditer(text.raw)]
    if ":" in text.raw and not _ROLE_WORDS.isdisjoint(vocabulary):
        offset = 0
        for line in text.raw.split("\n"):
            match = _ROLE_LINE.match(line) if ":" in line else None
            if match:
                spans.append((offset, offset + match.end()))
            offset += len(line) + 1
    return spans


def _rejects(text: Text, index: int, pattern: Pattern) -> bool:
    """The sentence turns the weak move down ("not the biggest model"), unless the
    negation is part of the anti-pattern itself ("no human review needed")."""
    segment = text.segments[index]
    own_keys = {key for term in pattern.terms for alternative in term for key in alternative.keys}
    return bool(NEGATIONS.intersection(text.keys[segment.start : segment.end]) - own_keys)


def _segment_quality(piece: str, keys: list[str], has_number: bool) -> float:
    """The credit multiplier of a counted segment, from its text and stems.

    A keyword, or a list of one- and two-word keywords, is a fragment; a
    statement with a number, or one that states a mechanism as a condition and
    a consequence ("if X, we do Y"), is specific; anything else is a sentence.
    """
    count = len(keys)
    if count < 4:
        return FRAGMENT_CREDIT
    items = 1 + piece.count(",") + piece.count(";") + piece.count("/") + piece.count(" and ")
    if items >= 3 and count / items <= 2.5:
        return FRAGMENT_CREDIT
    if count < 8 and sum(map(FUNCTION_WORDS.__contains__, keys)) / count < 0.1:
        return FRAGMENT_CREDIT
    if has_number or (count >= 8 and not CONDITIONALS.isdisjoint(keys)):
        return SPECIFIC_CREDIT
    return SENTENCE_CREDIT


def _shingles(keys: list[str]) -> set[int]:
    """The segment's runs of three stems, hashed: sets of ints are cheaper to build and compare than sets of tuples."""
    if len(keys) < 3:
        return {hash(tuple(keys))} if keys else set()
    return set(map(hash, zip(keys, keys[1:], keys[2:])))


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
    matches: dict[Pattern, list[int]]  # pattern -> segments where it matched


def _classify(step_id: str, raw: str, compiled: _CompiledScenario, seen: dict[int, str]) -> _StepText:
    text = analyse(raw)
    matches = compiled.pattern_sets[step_id].search(text)
    excluded: dict[int, str] = {}
    flags: list[str] = []
    title = STEPS_BY_ID[step_id].title
    for segment in _grader_addressed_segments(text):
        excluded[segment.index] = "Ignored text addressed to the grader"
        flags.append(f"grader_addressed_text: {step_id}: ignored “{_quote(segment)}”")
    hits: list[AntiPatternHit] = []
    matched_antis = {compiled.anti_of_pattern[p] for p in matches if p in compiled.anti_of_pattern}
    for anti in (a for a in compiled.anti_patterns if a in matched_antis):
        touched = {(index, pattern) for pattern in anti.patterns for index in matches.get(pattern, ())}
        found = sorted({index for index, pattern in touched if not _rejects(text, index, pattern)})
        for index, _ in touched:
            # A sentence that only rejects the weak move costs nothing but earns nothing either:
            # crediting it would let an appended anti-pattern raise a score.
            excluded.setdefault(index, f"Anti-pattern: {anti.title}")
        if found:
            quote = _quote(text.segments[found[0]])
            penalty = anti.penalty if step_id in anti.steps else anti.penalty * OFF_STEP_PENALTY
            hits.append(AntiPatternHit(anti.id, anti.title, step_id, quote, anti.better, anti.source, penalty))
    repeated_from: set[str] = set()
    step_shingles: set[int] = set()
    quality: dict[int, float] = {}
    numbered = set(map(text.segment_of.__getitem__, text.positions("{num}")))
    for segment in text.segments:
        index = segment.index
        keys = text.keys[segment.start : segment.end]
        shingles = _shingles(keys)
        step_shingles |= shingles
        if index in excluded:
            continue
        if len(shingles) >= 2:
            earlier = shingles & seen.keys()
            if len(earlier) >= REPEAT_OVERLAP * len(shingles):
                source = min((seen[s] for s in earlier), key=STEP_IDS.index)
                excluded[index] = f"Repeated from {STEPS_BY_ID[source].title}: earns credit once"
                repeated_from.add(source)
                continue
        quality[index] = _segment_quality(segment.text, keys, index in numbered)
    # Register everything, counted or not, for the later steps.
    seen.update(dict.fromkeys(step_shingles - seen.keys(), step_id))
    for source in sorted(repeated_from, key=STEP_IDS.index):
        flags.append(f"repeated_text: {step_id}: repeats text from {source}; it earns credit once ({title})")
    return _StepText(text, excluded, quality, hits, flags, matches)


# --- scoring ------------------------------------------------------------------------------------


def _grounding(step: _StepText, vocabulary: frozenset[str]) -> float:
    """1.0 when the counted text names at least three things from this scenario; less when generic."""
    keys = step.text.keys
    mentioned: set[str] = set()
    for index in step.quality:
        segment = step.text.segments[index]
        mentioned.update(vocabulary.intersection(keys[segment.start : segment.end]))
        if len(mentioned) >= 3:
            return 1.0
    return 0.6 + 0.4 * len(mentioned) / 3


def _best_segments(step: _StepText, owners: _Owners, count: int) -> list[tuple[float, int]]:
    """For each of `count` owners (criteria or concepts), its best counted segment among the matches of its
    patterns: (quality, segment index), or (0.0, -1). Ties go to the owner's earlier pattern, then the earlier
    segment. Walking the few matches, not every owner's patterns, keeps this cheap."""
    best = [(0.0, -1, 0)] * count
    quality = step.quality
    for pattern, segments in step.matches.items():
        for owner, rank in owners.get(pattern, ()):
            for index in segments:
                credit = quality.get(index, 0.0)
                best_credit, best_index, best_rank = best[owner]
                if credit > best_credit or (credit == best_credit and credit and (rank, index) < (best_rank, best_index)):
                    best[owner] = (credit, index, rank)
    return [(credit, index) for credit, index, _ in best]


def _topic_credit(step_id: str, compiled: _CompiledScenario, step: _StepText) -> float:
    """How much of the step's general ground the counted text covers (0 to 1), rubric aside."""
    best = _best_segments(step, compiled.topic_owners[step_id], len(compiled.topics[step_id]))
    return min(1.0, sum(credit for credit, _ in best) / TOPIC_CONCEPTS_FOR_FULL)


def _criterion_result(criterion: _Criterion, step: _StepText, credit: float, index: int) -> CriterionResult:
    result = CriterionResult(criterion.id, criterion.description, criterion.weight, met=index >= 0, probe=criterion.probe)
    if index >= 0:
        result.quote = _quote(step.text.segments[index])
        result.specific = credit >= SPECIFIC_CREDIT
    return result


def _step_report(step_id: str, raw: str, compiled: _CompiledScenario, seen: dict) -> tuple[StepReport, list[str]]:
    step = _classify(step_id, raw, compiled, seen)
    criteria = compiled.criteria[step_id]
    best = _best_segments(step, compiled.criterion_owners[step_id], len(criteria))
    results = [_criterion_result(c, step, credit, index) for c, (credit, index) in zip(criteria, best)]
    rubric = sum(c.weight * credit for c, (credit, _) in zip(criteria, best)) / sum(c.weight for c in criteria)
    coverage = 100.0 * ((1 - TOPIC_SHARE) * rubric + TOPIC_SHARE * _topic_credit(step_id, compiled, step))
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
    seen: dict[int, str] = {}  # hashed word triple -> the step it first appeared in
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
