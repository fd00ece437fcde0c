"""The offline scorer: instant, deterministic, explainable rubric scoring.

How an answer set is scored (each stage is one small function below):

1. Each step's text is split into segments (sentences, bullets, lines) and stemmed.
2. Segments that earn nothing are set aside, each with a reason the learner sees
   (`exclusions` holds the detectors; every stage only adds exclusions):
   text addressed to the grader (which sets the whole step aside), a sentence
   that matches an anti-pattern, an echo of the scenario's own text (brief,
   questions, hints, probes; a question reworded as a requirement is one too),
   text repeated from an earlier step, and a decision deferred rather than made.
3. Every rubric criterion looks for its evidence patterns in the remaining
   segments. A segment's credit is its *quality* (a keyword fragment earns a
   little, a statement most, a statement with a number, a condition or an arrow
   all of it) times its *grounding*: a generic statement that names none of this
   scenario's people, data or tools counts only as partly covered. Evidence in a
   clause that turns the idea down ("no human review needed") earns nothing and
   is reported as a dismissed safeguard. A step that misses half its criteria
   also looks for them under the other steps, in sentences that earned nothing
   there: an answer written under the wrong step is partly covered.
4. Step score = (85% weighted criterion credit + 15% coverage of the step's
   general concepts) - anti-pattern penalties, clipped to 0-100.
5. The total is the weighted mean of the steps times the answer's *topicality*
   (`topicality`): an answer that keeps coming back to another product's nouns,
   or builds on tools this scenario does not have, is about another product,
   whatever its quality; one that meets most of the rubric is about this one.

Every stage can only remove or discount text, never add, so appending
grader-addressed text, an anti-pattern or a dismissal can never raise a score
(`tests/test_scoring_properties.py` checks it on generated answers).
"""

from __future__ import annotations

import gc
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, compress

import msgspec

from . import exclusions
from .answers import Answers, answers_from_dict, load_answers
from .lexicon import AntiPattern, Concept, design_vocabulary, expand, global_anti_patterns, make_anti_pattern, step_concepts
from .matching import CASE_TRAPS, Caseless, Pattern, PatternSet, Segment, Span, Text, analyse, share_prefixes, stem, stems, term_spans
from .report import AntiPatternHit, CriterionResult, Report, StepReport, next_move
from .scenario import Scenario, load_all, load_scenario, shipped_exercises_dir
from .steps import STEP_IDS, STEPS_BY_ID
from . import topicality as topical

FRAGMENT_CREDIT = 0.1  # a criterion found only in a keyword or list fragment
SENTENCE_CREDIT = 0.8  # found in a plain statement
VAGUE_CREDIT = 0.3  # a statement that promises care ("handled appropriately") instead of saying how: partly covered
SPECIFIC_CREDIT = 1.0  # found in a statement with a number, a condition or an arrow
UNGROUNDED_SHARE = 0.4  # share of that credit when a shared concept is stated without what the criterion is about
MET_AT = 0.5  # credit from which a criterion counts as met; below it, as partly covered
MISPLACED_SHARE = 0.45  # share of its credit a criterion earns from a sentence written under another step: partly covered
TOPIC_SHARE = 0.15  # share of a step's score earned by the step's general concepts, rubric aside
TOPIC_CONCEPTS_FOR_FULL = 3  # that many of them, in real sentences, earn the whole share
MAX_PENALTY = 45.0  # anti-patterns can cost a step at most this much
OFF_STEP_PENALTY = 0.5  # share of the penalty in a step the anti-pattern does not list
DISMISSAL_PENALTY = 15.0  # a safeguard the step turns down: as costly as an anti-pattern
RECKLESS_SHARE = 0.25  # each safeguard turned down after the first takes this share off the total
REPEAT_OVERLAP = 0.6  # share of a segment's word triples seen before that makes it a repeat
ECHO_OVERLAP = 0.7  # share of a segment's word triples found in the scenario's own text that makes it an echo
ECHO_MIN_TRIPLES = 5  # shorter statements ("the reviewer is the real user") are too short to call copied
PARAPHRASE_OVERLAP = 0.7  # share of a requirement-voiced sentence's content words found in one given passage
PARAPHRASE_MIN_WORDS = 5
PASSING_WEIGHT = 0.5  # a word the scenario's text uses only once counts half: a passing mention is not its subject
PASSING_TEXT = 500  # ... in a text of at least this many content words (the shipped ones have 680-870)
COMMON_SCENARIOS = 3  # a word found in this many shipped scenarios is ordinary in the field, not distinctive of one
QUOTE_CHARS = 180
NOTES_PER_REASON = 3  # excluded sentences quoted per reason; the rest are counted

FUNCTION_WORDS = frozenset(
    """a an the to of in on for with by from at as into over under within than and or but if when
    whenever unless until once then so because while before after we i you they it its our their
    this that these those is are be been was were will would should can could must may might do does
    not no only each every any all per which who what how where there here have has had""".split()
)
CONDITIONALS = frozenset(stem(w) for w in "if when whenever unless until once otherwise then after before".split())
NEGATIONS = frozenset(  # words that turn a weak move down when they stand just before it ("independent of the prompt")
    stem(w) for w in """not never no without avoid instead rather don't won't cannot can't isn't shouldn't doesn't nor neither
    nothing independent independently outside beyond regardless""".split()
)
GENERIC_WORDS = frozenset(
    stem(w)
    for w in """model models ai system systems user users data team teams product products company
    customer customers tool tools assistant agent agents time need needs want wants make use using
    help helps internal first new one two what who which their them they with from that this into
    about also more most much many some such very just like than other others each every would could""".split()
)


# Promises of care in place of a mechanism: "treated with the appropriate care", "kept in mind",
# "follows best practices". A statement built on one of these, with no number or condition, says that
# something will be handled, not how.
VAGUE_COMMITMENT = re.compile(
    r"""\b(?:
    appropriately|responsibly|carefully|thoughtfully|mindfully|sensibly|properly|seamlessly
    | with\s(?:the\s|due\s|great\s|extra\s|appropriate\s|proper\s|utmost\s)*care
    | (?:in|with)\s(?:a\s|an\s)?(?:responsible|careful|thoughtful|safe|secure|sensible|appropriate|proper|ethical)\s(?:way|manner|fashion)
    | (?:keep|keeps|kept|keeping|bear|bears|borne)\s(?:\S+\s){0,3}?in\smind
    | (?:take|takes|took|taken|taking)\s(?:\S+\s){0,3}?into\s(?:account|consideration)
    | best\spractices?|industry\sstandards?
    | (?:as|where|when|if)\s(?:needed|necessary|appropriate|required)
    | appropriate\s(?:care|measures|steps|action|actions|safeguards|controls|checks)
    | (?:robust|resilient)\sagainst
    | (?:will|must|should|shall|needs?\sto|has\sto|have\sto)\s(?:also\s|then\s|still\s)?(?:handle|address|deal\swith|account\sfor|take\scare\sof|cope\swith|cater\sfor|be\sclear\sabout)
    | something\s(?:sensible|appropriate|useful|helpful|reasonable|suitable|safe)
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
RELATION_MARKS = ("→", "->", "=>", "⇒", "=", "<", ">", "≤", "≥")
_VAGUE_FAST = Caseless(VAGUE_COMMITMENT)
# A word each alternative of VAGUE_COMMITMENT needs, as stems: a sentence with none of them (and no case
# trap, which can match a letter it does not lowercase to) cannot match, so the expression is not run.
# A property test generates matches of the expression and checks that each holds one of these.
_VAGUE_WORDS = frozenset(stem(w) for w in """appropriately responsibly carefully thoughtfully mindfully sensibly properly
    seamlessly care way manner fashion mind account consideration practice practices standard standards needed necessary
    appropriate required against handle address deal cope cater clear something""".split())
# "scope: read-only, one repo": a labelled value states what the label is, as a short sentence would; a
# labelled list of concrete things ("red team: satire, namesakes, retracted pieces") is a decision, where a
# list of the field's own words ("safety: guardrails, evals, monitoring") stays a list of keywords.
CONCRETE_LIST = 0.6  # share of a labelled list's content words outside the design vocabulary
_LABELLED_VALUE = re.compile(r"\s*[\w][\w /&'-]{0,30}:\s+\S")
# Every relation mark holds one of these characters ("->" and "=>" end in ">"): one scan finds any of them.
_RELATION_CHARS = re.compile("[" + re.escape("".join(sorted({mark[-1] for mark in RELATION_MARKS}))) + "]")


@dataclass
class _Criterion:
    id: str
    description: str
    weight: float
    probe: str
    patterns: tuple[Pattern, ...]
    generic: frozenset[Pattern]  # patterns that came from a shared @concept: grounded only by the sentence
    anchors: frozenset[str]  # what the criterion is about: the description's words that name the scenario's situation


@dataclass
class _CompiledScenario:
    scenario: Scenario
    criteria: dict[str, list[_Criterion]]
    anti_patterns: list[AntiPattern]
    vocabulary: frozenset[str]  # stems distinctive of this scenario
    own_weight: dict[str, float]  # every content stem of the scenario's text -> 1, or PASSING_WEIGHT if used once
    echoes: frozenset[int]  # word triples of the text the learner was given
    prompts: dict[str, dict[str, list[int]]]  # per step: content stem -> the given passages (brief, questions, hints, probes) that hold it
    given_numbers: frozenset[str]  # the numbers the learner was given
    pattern_sets: dict[str, PatternSet]  # per step: its criteria's, topic concepts' and anti-patterns' patterns
    topics: dict[str, list[Concept]]
    anti_of_pattern: dict[Pattern, AntiPattern]
    criterion_owners: dict[str, _Owners]  # per step: pattern -> the criteria that use it
    misplaced: PatternSet  # every criterion's own patterns, searched under the other steps for a weak step
    topic_owners: dict[str, _Owners]  # per step: pattern -> the topic concepts that use it


_compiled: dict[int, _CompiledScenario] = {}


def _compile(scenario: Scenario) -> _CompiledScenario:
    cached = _compiled.get(id(scenario))
    if cached is not None and cached.scenario is scenario:
        return cached
    antis = list(global_anti_patterns()) + [make_anti_pattern(msgspec.structs.asdict(a), scenario.id) for a in scenario.anti_patterns]
    uses = _content_counts(scenario)
    passing = PASSING_WEIGHT if sum(uses.values()) >= PASSING_TEXT else 1.0  # a short brief names each thing once
    own_weight = {word: 1.0 if count > 1 else passing for word, count in uses.items()}
    # What 'talking about this scenario' means: its people, data, tools and domain, minus the field's
    # common words and the design vocabulary every scenario shares (rollout, review, retrieval ...).
    vocabulary = frozenset(uses) - _common_stems()
    situation = frozenset(_content_stems(scenario, with_rubric=False))
    criteria = {step_id: [_criterion(c, situation) for c in spec.criteria] for step_id, spec in scenario.step_specs().items()}
    anti_patterns = [pattern for anti in antis for pattern in anti.patterns]
    topics = {step_id: step_concepts(step_id) for step_id in STEP_IDS}
    given = _given_texts(scenario)
    compiled = _CompiledScenario(
        scenario=scenario,
        criteria=criteria,
        anti_patterns=antis,
        vocabulary=vocabulary,
        own_weight=own_weight,
        echoes=frozenset().union(*(_shingles(stems(part)) for part in given)),
        prompts={step_id: _prompt_index(scenario, step_id) for step_id in STEP_IDS},
        given_numbers=frozenset(chain.from_iterable(_NUMBER.findall(part) for part in given)),
        pattern_sets={
            step_id: PatternSet(
                [p for c in step_criteria for p in c.patterns] + [p for c in topics[step_id] for p in c.patterns] + anti_patterns
            )
            for step_id, step_criteria in criteria.items()
        },
        # The scenario's own patterns of every criterion (not the shared @concepts, which earn an answer
        # under the wrong step too little to be worth the search), to find a step's answer under another.
        misplaced=PatternSet([p for step_criteria in criteria.values() for c in step_criteria for p in c.patterns if p not in c.generic]),
        topics=topics,
        anti_of_pattern={pattern: anti for anti in antis for pattern in anti.patterns},
        criterion_owners={step_id: _owners([c.patterns for c in step_criteria]) for step_id, step_criteria in criteria.items()},
        topic_owners={step_id: _owners([c.patterns for c in concepts]) for step_id, concepts in topics.items()},
    )
    share_prefixes([*compiled.pattern_sets.values(), compiled.misplaced])  # each step's text is searched by two of them
    if len(_compiled) > 64:
        _compiled.clear()
    _compiled[id(scenario)] = compiled
    return compiled


@lru_cache(maxsize=200_000)
def _is_content(key: str) -> bool:
    return len(key) > 3 and key.isalpha() and key not in FUNCTION_WORDS and key not in GENERIC_WORDS


def _criterion(spec, situation: frozenset[str]) -> _Criterion:
    own = [item for item in spec.evidence if not item.startswith("@")]
    generic = set(expand([item for item in spec.evidence if item.startswith("@")])) - set(expand(own))
    anchors = situation.intersection(stems(spec.description)) - design_vocabulary()
    return _Criterion(spec.id, spec.description, spec.weight, spec.probe, expand(spec.evidence), frozenset(generic), anchors)


# Pattern -> (owner number, rank of the pattern among the owner's patterns) for each owner using it.
_Owners = dict[Pattern, tuple[tuple[int, int], ...]]


def _owners(pattern_groups: list[tuple[Pattern, ...]]) -> _Owners:
    owners: dict[Pattern, list[tuple[int, int]]] = {}
    for owner, patterns in enumerate(pattern_groups):
        for rank, pattern in enumerate(dict.fromkeys(patterns)):
            owners.setdefault(pattern, []).append((owner, rank))
    return {pattern: tuple(links) for pattern, links in owners.items()}


def _given_texts(scenario: Scenario) -> list[str]:
    """Everything the learner was given or shown: restating it decides nothing."""
    parts = [scenario.title, scenario.summary, *scenario.brief.split("\n\n"), *_cast(scenario)]
    parts += [scenario.constraints.latency_budget, scenario.constraints.cost_budget, *scenario.constraints.other]
    for spec in scenario.step_specs().values():
        parts += [*spec.questions, *spec.hints, *(c.probe for c in spec.criteria), *(c.description for c in spec.criteria)]
    return parts


def _cast(scenario: Scenario) -> list[str]:
    """The scenario's people, sources and tools, one line each, as the learner reads them."""
    return (
        [f"{s.name}: {s.interest}" for s in scenario.stakeholders]
        + [f"{s.name}: {s.description} {s.access}" for s in scenario.context_sources]
        + [f"{t.name.replace('_', ' ')}: {t.description}" for t in scenario.tools]
    )


def _prompt_index(scenario: Scenario, step_id: str) -> dict[str, list[int]]:
    """The passages a learner reads for one step, one sentence of the brief at a time, indexed by content stem."""
    spec = scenario.step_specs()[step_id]
    passages = [*spec.questions, *spec.hints, *(c.probe for c in spec.criteria)]
    passages += [sentence for paragraph in scenario.brief.split("\n\n") for sentence in re.split(r"(?<=[.!?])\s+", paragraph)]
    passages += _cast(scenario)
    index: dict[str, list[int]] = {}
    for number, passage in enumerate(passages):
        for key in {key for key in stems(passage) if _is_content(key)}:
            index.setdefault(key, []).append(number)
    return index


def _content_stems(scenario: Scenario, with_rubric: bool = True) -> set[str]:
    return set(_content_counts(scenario, with_rubric))


def _content_counts(scenario: Scenario, with_rubric: bool = True) -> Counter[str]:
    """The content stems of the scenario's text, with how often it uses each."""
    parts = [scenario.title, scenario.summary, scenario.brief]
    parts += [f"{s.name} {s.interest}" for s in scenario.stakeholders]
    parts += [f"{s.name} {s.description} {s.access}" for s in scenario.context_sources]
    parts += [f"{t.name.replace('_', ' ')} {t.description}" for t in scenario.tools]
    parts += scenario.constraints.other
    if with_rubric:
        parts += [c.description for spec in scenario.step_specs().values() for c in spec.criteria]
    return Counter(filter(_is_content, stems(" ".join(parts))))


COMMON_STEMS_FILE = "common_stems.txt"  # in workbook/data: the result of compute_common_stems(), one stem a line


@lru_cache(maxsize=1)
def _common_stems() -> frozenset[str]:
    """Stems found in many of the shipped scenarios: ordinary words of the field, not of any one product.

    Computing them loads and validates every shipped scenario (about half a second), so the result ships
    as data; a test keeps the file equal to `compute_common_stems()`."""
    from importlib import resources

    shipped = resources.files("workbook").joinpath("data", COMMON_STEMS_FILE)
    if shipped.is_file():
        return frozenset(shipped.read_text(encoding="utf-8").split())
    return compute_common_stems()


def compute_common_stems() -> frozenset[str]:
    scenarios, _ = load_all(shipped_exercises_dir())
    counts: dict[str, int] = {}
    for scenario in scenarios.values():
        for key in _content_stems(scenario):
            counts[key] = counts.get(key, 0) + 1
    # The field's own vocabulary (rollout, review, retrieval ...) is common as soon as two products share it;
    # a product's nouns that a concept happens to name (refund, invoice) stay distinctive of that product.
    design = design_vocabulary()
    return frozenset(key for key, count in counts.items() if count >= COMMON_SCENARIOS or (count >= 2 and key in design))


def write_common_stems() -> None:
    """Regenerate data/common_stems.txt after changing a shipped scenario or the concepts."""
    from pathlib import Path

    target = Path(__file__).parent / "data" / COMMON_STEMS_FILE
    target.write_text("\n".join(sorted(compute_common_stems())) + "\n", encoding="utf-8")


# --- segment classification ---------------------------------------------------------------


REJECT_REACH = 4  # how far before the weak move a negation may stand to turn it down


_OWN_KEYS: dict[Pattern, frozenset[str]] = {}


def _own_keys(pattern: Pattern) -> frozenset[str]:
    """Every word a pattern names (patterns are built once and compared by identity, so this is remembered)."""
    found = _OWN_KEYS.get(pattern)
    if found is None:
        if len(_OWN_KEYS) > 100_000:
            _OWN_KEYS.clear()
        found = _OWN_KEYS[pattern] = frozenset(key for term in pattern.terms for alternative in term for key in alternative.keys)
    return found


def _rejects(text: Text, span: Span, pattern: Pattern) -> bool:
    """The words around the weak move turn it down ("not the biggest model"), unless the
    negation is part of the anti-pattern itself ("no human review needed"). Only a negation
    just before or inside the match counts: "No staged rollout: launch to everyone and fix
    later" does not reject launching and fixing later."""
    segment = text.segments[text.segment_of[span[0]]]
    own = _own_keys(pattern)
    # Just before one of the move's terms, or right after one ("limits never live in the prompt"): a
    # negation further from them belongs to what lies between ("the system prompt says never refund
    # more than $75, which keeps it within limits").
    for start, end in term_spans(text, pattern, span):
        if not NEGATIONS.isdisjoint(set(text.keys[max(segment.start, start - REJECT_REACH) : min(segment.end, end + 1)]) - own):
            return True
    return False


def _may_be_vague(piece: str, keys: list[str]) -> bool:
    return not _VAGUE_WORDS.isdisjoint(keys) or CASE_TRAPS.search(piece) is not None


def _segment_quality(piece: str, keys: list[str], has_number: bool) -> float:
    """The credit multiplier of a counted segment, from its text and stems.

    A keyword, or a list of one- and two-word keywords, is a fragment. A
    statement with a number, a condition and its consequence ("if X, we do Y"),
    or a relation written as terse notes write it ("refund > $75 → agent") is
    specific; a statement that only promises care ("handled appropriately") is
    vague; anything else is a statement.
    """
    count = len(keys)
    related = _RELATION_CHARS.search(piece) is not None
    if count >= 3 and not (has_number or related) and _may_be_vague(piece, keys) and _VAGUE_FAST.search(piece):
        return VAGUE_CREDIT  # "if fraud is suspected, it is handled appropriately": the condition leads nowhere
    if has_number or related or (count >= 6 and not CONDITIONALS.isdisjoint(keys)):
        return SPECIFIC_CREDIT if count >= 3 else FRAGMENT_CREDIT
    if count < 3:
        return FRAGMENT_CREDIT
    items = 1 + piece.count(",") + piece.count(";") + piece.count("/") + piece.count(" and ")
    if items >= 3 and count / items <= 2.5 and not (_LABELLED_VALUE.match(piece) and _concrete_share(keys) >= CONCRETE_LIST):
        return FRAGMENT_CREDIT
    if count < 6 and not any(map(FUNCTION_WORDS.__contains__, keys)) and not _LABELLED_VALUE.match(piece):
        return FRAGMENT_CREDIT
    return SENTENCE_CREDIT


def _concrete_share(keys: list[str]) -> float:
    """Share of the content words that are not the field's design vocabulary."""
    content = [k for k in keys if _is_content(k)]
    if not content:
        return 0.0
    design = design_vocabulary()
    return sum(k not in design for k in content) / len(content)


def _shingles(keys: list[str]) -> set[int]:
    """The segment's runs of three stems, hashed: sets of ints are cheaper to build and compare than sets of tuples."""
    if len(keys) < 3:
        return {hash(tuple(keys))} if keys else set()
    return set(map(hash, zip(keys, keys[1:], keys[2:])))


def _text_shingles(text: Text) -> set[int]:
    """The union of every segment's `_shingles`, found with C-level passes over the whole text: the
    triples whose three stems share a segment, and the segments too short to have one."""
    keys, segment_of = text.keys, text.segment_of
    triples = compress(zip(keys, keys[1:], keys[2:]), map(int.__eq__, segment_of, segment_of[2:]))
    short = [slice(s.start, s.end) for s in text.segments if s.end - s.start < 3]
    return set(map(hash, triples)).union(map(hash, map(tuple, map(keys.__getitem__, short))))


def _quote(segment: Segment) -> str:
    text = " ".join(segment.text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


@dataclass
class _StepText:
    step_id: str
    text: Text
    excluded: dict[int, str]  # segment index -> reason it earns nothing
    quality: dict[int, float]  # segment index -> credit multiplier for counted segments
    hits: list[AntiPatternHit]
    flags: list[str]
    matches: dict[Pattern, dict[int, Span]]  # pattern -> segments where it matched, with the match
    mentioned: set[str] = field(default_factory=set)  # distinctive scenario stems in the counted text
    content: Counter[str] = field(default_factory=Counter)  # content stems in the counted text, with counts
    written: Counter[str] = field(default_factory=Counter)  # content stems of the counted text and of the text set aside as gaming or anti-patterns
    shingles: dict[int, set[int]] = field(default_factory=dict)  # segment index -> its hashed word triples
    dismissing: set[int] = field(default_factory=set)  # segments that turn a safeguard down
    best: list[_Evidence] = field(default_factory=list)  # per criterion of the step: its best evidence
    topic: float = 0.0  # credit for the step's general concepts


@dataclass
class _AnswerWords:
    """What the steps' text says, gathered across the answer for its topicality."""

    texts: list[_StepText] = field(default_factory=list)
    mentioned: set[str] = field(default_factory=set)
    content: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)
    concrete: int = 0  # counted segments that are specific
    rated: int = 0  # counted segments

    def add(self, step: _StepText) -> None:
        self.texts.append(step)
        self.mentioned |= step.mentioned
        self.content.update(step.content)
        self.written.update(step.written)
        counted = [quality for index, quality in step.quality.items() if index not in step.excluded]
        self.concrete += sum(quality >= SPECIFIC_CREDIT for quality in counted)
        self.rated += len(counted)

    @property
    def concrete_share(self) -> float:
        return self.concrete / self.rated if self.rated else 0.0


def _classify(step_id: str, raw: str, compiled: _CompiledScenario, seen: dict[int, str]) -> _StepText:
    text = analyse(raw)
    step = _StepText(step_id, text, {}, {}, [], [], {})
    _exclude_grader_addressed(step)
    if GRADER_ADDRESSED in step.excluded.values():
        # A step that talks to the grader earns nothing whatever else it says: no evidence is looked for,
        # so its report does not call criteria met in a step that scores 0. What it says still counts as
        # said here first, so that a copy in a later step stays a repeat: appending text addressed to the
        # grader must not free a sentence to earn elsewhere.
        _rate_counted(step)
        seen.update(dict.fromkeys(_text_shingles(text).difference(seen), step_id))
        return step
    step.matches = compiled.pattern_sets[step_id].search(text)
    _exclude_anti_patterns(step, compiled)
    _exclude_echoes_and_repeats(step, compiled, seen)
    _exclude_undecided(step)
    _exclude_questions(step)
    _rate_counted(step)
    return step


GRADER_ADDRESSED = "Ignored text addressed to the grader; the step earns nothing"
SET_ASIDE = ("Ignored text addressed to the grader", "Anti-pattern", "Turns the safeguard")  # reasons that count against topicality


def _exclude_grader_addressed(step: _StepText) -> None:
    found = exclusions.grader_addressed(step.text)
    for segment in found:
        step.excluded[segment.index] = GRADER_ADDRESSED
    title = STEPS_BY_ID[step.step_id].title
    step.flags += [f"Ignored text addressed to the grader in {title}: “{_quote(segment)}”" for segment in found[:NOTES_PER_REASON]]
    if len(found) > NOTES_PER_REASON:
        step.flags.append(f"Ignored {len(found) - NOTES_PER_REASON} more sentence(s) addressed to the grader in {title}.")


def _exclude_anti_patterns(step: _StepText, compiled: _CompiledScenario) -> None:
    text, matches = step.text, step.matches
    matched_antis = {compiled.anti_of_pattern[p] for p in matches if p in compiled.anti_of_pattern}
    numbered = _numbered_segments(text) if matched_antis else set()
    for anti in (a for a in compiled.anti_patterns if a in matched_antis):
        touched = {(index, pattern) for pattern in anti.patterns for index in matches.get(pattern, ())}
        found = sorted({index for index, pattern in touched if not _rejects(text, matches[pattern][index], pattern)})
        for index, _ in touched:
            # A sentence that only rejects the weak move costs nothing but earns nothing either: crediting
            # "not the biggest model" would let an appended anti-pattern raise a score. One that goes on to
            # state the alternative ("the refund service enforces the caps, not the prompt: at most $75")
            # is a decision, and counts.
            if index in found or not _states_the_alternative(text, text.segments[index], numbered):
                step.excluded.setdefault(index, f"Anti-pattern: {anti.title}")
        if found:
            quote = _quote(text.segments[found[0]])
            penalty = anti.penalty if step.step_id in anti.steps else anti.penalty * OFF_STEP_PENALTY
            step.hits.append(AntiPatternHit(anti.id, anti.title, step.step_id, quote, anti.better, anti.source, penalty))


def _numbered_segments(text: Text) -> set[int]:
    """The segments holding a number (digits or number words), found once per text."""
    found = text.memo.get("numbered")
    if found is None:
        found = text.memo["numbered"] = set(map(text.segment_of.__getitem__, text.positions("{num}")))
    return found


ALTERNATIVE_KEYS = 12  # a rejecting sentence this long says more than the rejection


def _states_the_alternative(text: Text, segment: Segment, numbered: set[int]) -> bool:
    """Long enough, or specific (a number or a relation), to say what is done instead."""
    return segment.end - segment.start >= ALTERNATIVE_KEYS or segment.index in numbered or bool(_RELATION_CHARS.search(segment.text))


def _exclude_echoes_and_repeats(step: _StepText, compiled: _CompiledScenario, seen: dict[int, str]) -> None:
    text, excluded = step.text, step.excluded
    repeated_from: set[str] = set()
    echoed = 0
    for segment in text.segments:
        if segment.index in excluded:
            continue  # set aside already: it can earn nothing, so it is neither an echo nor a repeat source
        shingles = step.shingles[segment.index] = _shingles(text.keys[segment.start : segment.end])
        if len(shingles) < 2:
            continue
        keys = text.keys[segment.start : segment.end]
        if (len(shingles) >= ECHO_MIN_TRIPLES and len(shingles & compiled.echoes) >= ECHO_OVERLAP * len(shingles)) or _paraphrases_a_prompt(
            segment.text, keys, compiled.prompts[step.step_id], compiled.given_numbers
        ):
            excluded[segment.index] = "Restates the scenario or its questions instead of deciding: earns nothing"
            echoed += 1
            continue
        earlier = shingles & seen.keys()
        if len(earlier) >= REPEAT_OVERLAP * len(shingles):
            source = min((seen[s] for s in earlier), key=STEP_IDS.index)
            excluded[segment.index] = f"Repeated from {STEPS_BY_ID[source].title}: earns credit once"
            repeated_from.add(source)
    title = STEPS_BY_ID[step.step_id].title
    for source in sorted(repeated_from, key=STEP_IDS.index):
        step.flags.append(f"{title} repeats text from {STEPS_BY_ID[source].title}; it earns credit once.")
    if echoed:
        step.flags.append(f"{title}: {echoed} sentence(s) restate the brief or the questions; only your own decisions earn credit.")


# A sentence in the voice of a requirement or a question ("the design must decide whether ...", "drafts
# should pass checks") says what is to be decided; a rule word, a relation or a number of its own
# says what was decided.
_REQUIREMENT_WORDS = frozenset(stem(w) for w in "which what whether how must should has have need needs ought something someone".split())
_DECISION_WORDS = frozenset(stem(w) for w in "never only always unless if when whenever most least cannot cant wont dont not no without".split())
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _paraphrases_a_prompt(piece: str, keys: list[str], prompts: dict[str, list[int]], given_numbers: frozenset[str]) -> bool:
    """A requirement-voiced sentence, most of whose content words come from one passage the learner was given,
    with no decision of its own: a question or a hint turned into a statement, in other words."""
    if _REQUIREMENT_WORDS.isdisjoint(keys) or not _DECISION_WORDS.isdisjoint(keys):
        return False
    content = {key for key in keys if _is_content(key)}
    if len(content) < PARAPHRASE_MIN_WORDS or ":" in piece or _RELATION_CHARS.search(piece):
        return False
    if not given_numbers.issuperset(_NUMBER.findall(piece)):
        return False
    shared = Counter(chain.from_iterable(prompts.get(key, ()) for key in content))
    return bool(shared) and max(shared.values()) >= PARAPHRASE_OVERLAP * len(content)


def _exclude_undecided(step: _StepText) -> None:
    for segment in step.text.segments:
        if segment.index not in step.excluded and exclusions.undecided(segment, step.text.keys[segment.start : segment.end]):
            step.excluded[segment.index] = "Says a decision will be made, not what it is: earns nothing"


ASKS = "Asks a question instead of answering it: earns nothing"


def _exclude_questions(step: _StepText) -> None:
    for segment in step.text.segments:
        if segment.index not in step.excluded and exclusions.asks(step.text, segment):
            step.excluded[segment.index] = ASKS


def _rate_counted(step: _StepText) -> None:
    text = step.text
    numbered = _numbered_segments(text)
    for segment in text.segments:
        if segment.index not in step.excluded:
            keys = text.keys[segment.start : segment.end]
            step.quality[segment.index] = _segment_quality(segment.text, keys, segment.index in numbered)


def _count_words(step: _StepText, vocabulary: frozenset[str]) -> None:
    """The content words of what still counts once every stage has run, for the answer's topicality."""
    text = step.text
    counted = Counter(chain.from_iterable(
        text.keys[text.segments[i].start : text.segments[i].end] for i in step.quality if i not in step.excluded
    ))
    step.content.update({key: n for key, n in counted.items() if _is_content(key)})
    step.written.update(step.content)
    set_aside = [i for i, reason in step.excluded.items() if reason.startswith(SET_ASIDE)]
    if len(set_aside) == len(text.segments):  # a step set aside whole, as thousands of role-label lines are
        step.written.update({key: n for key, n in Counter(text.keys).items() if _is_content(key)})
    elif set_aside:
        aside = Counter(chain.from_iterable(text.keys[text.segments[i].start : text.segments[i].end] for i in set_aside))
        step.written.update({key: n for key, n in aside.items() if _is_content(key)})
    step.mentioned.update(vocabulary.intersection(counted))


# --- criteria -----------------------------------------------------------------------------


@dataclass
class _Evidence:
    credit: float = 0.0
    index: int = -1
    rank: int = 0
    note: str = ""
    dismissed: int = -1  # a segment that turned the idea down
    step: str = ""  # the step whose text holds the evidence, when it is not the criterion's own


def _credit(criterion: _Criterion, pattern: Pattern, step: _StepText, index: int) -> tuple[float, str]:
    """Credit one match earns for one criterion, and why it is only partial when it is."""
    quality = step.quality.get(index, 0.0)
    if not quality:
        return 0.0, ""
    segment = step.text.segments[index]
    keys = step.text.keys[segment.start : segment.end]
    if pattern in criterion.generic and criterion.anchors and criterion.anchors.isdisjoint(keys):
        return quality * UNGROUNDED_SHARE, "the idea is there, but not tied to what this criterion is about here"
    if quality == VAGUE_CREDIT:
        return quality, "it says this will be handled with care, not how it works"
    if quality == FRAGMENT_CREDIT:
        return quality, "only as a keyword, not as a statement of how it works"
    return quality, ""


def _judge_criteria(step: _StepText, criteria: list[_Criterion], owners: _Owners) -> list[_Evidence]:
    """For each criterion, its best counted segment (ties: the criterion's earlier pattern, then the earlier segment)."""
    best = [_Evidence() for _ in criteria]
    for pattern, segments in step.matches.items():
        for owner, rank in owners.get(pattern, ()):
            criterion, evidence = criteria[owner], best[owner]
            own_keys = _own_keys(pattern)
            for index, span in segments.items():
                if index not in step.quality:
                    continue
                if exclusions.dismisses(step.text, step.text.segments[index], span, own_keys):
                    step.dismissing.add(index)
                    if evidence.dismissed < 0:
                        evidence.dismissed = index
                    continue
                credit, note = _credit(criterion, pattern, step, index)
                if credit > evidence.credit or (credit == evidence.credit and credit and (rank, index) < (evidence.rank, evidence.index)):
                    evidence.credit, evidence.index, evidence.rank, evidence.note = credit, index, rank, note
    return best


def _criterion_result(criterion: _Criterion, step: _StepText, evidence: _Evidence) -> CriterionResult:
    state = "met" if evidence.credit >= MET_AT else "partly" if evidence.credit > 0 else "missing"
    result = CriterionResult(criterion.id, criterion.description, criterion.weight, met=state == "met", probe=criterion.probe, state=state)
    if evidence.index >= 0:
        result.quote = _quote(step.text.segments[evidence.index])
        result.specific = evidence.credit >= SPECIFIC_CREDIT
        result.note = evidence.note
    return result


DISMISSED = "dismissed-safeguard"


def _dismissal_hits(step: _StepText, criteria: list[_Criterion], best: list[_Evidence], topics: dict[int, Concept]) -> list[AntiPatternHit]:
    """One hit per sentence that turns a safeguard down, naming the first criterion (or general concept) it turns down."""
    what: dict[int, str] = {}
    for criterion, evidence in zip(criteria, best):
        if evidence.dismissed >= 0 and evidence.credit < MET_AT:
            what.setdefault(evidence.dismissed, criterion.description)
    for index, concept in topics.items():
        what.setdefault(index, concept.description)
    hits = []
    for index in sorted(what):
        better = f"Keep the safeguard and say how it works here: {what[index]}"
        hits.append(AntiPatternHit(DISMISSED, "Turning down a safeguard the design needs", step.step_id, _quote(step.text.segments[index]), better, "scorer", DISMISSAL_PENALTY))
        step.excluded.setdefault(index, "Turns the safeguard down")
    return hits


def _topic_credit(step_id: str, compiled: _CompiledScenario, step: _StepText) -> tuple[float, dict[int, Concept]]:
    """How much of the step's general ground the counted text covers (0 to 1), rubric aside,
    and the general safeguards the step turns down (segment index -> concept)."""
    concepts = compiled.topics[step_id]
    best = [0.0] * len(concepts)
    dismissed: dict[int, Concept] = {}
    for pattern, segments in step.matches.items():
        for owner, _ in compiled.topic_owners[step_id].get(pattern, ()):
            for index, span in segments.items():
                if index not in step.quality:
                    continue
                if exclusions.dismisses(step.text, step.text.segments[index], span, _own_keys(pattern)):
                    step.dismissing.add(index)
                    dismissed.setdefault(index, concepts[owner])
                    continue
                best[owner] = max(best[owner], step.quality[index])
    return min(1.0, sum(best) / TOPIC_CONCEPTS_FOR_FULL), dismissed


def _judge_step(step_id: str, raw: str, compiled: _CompiledScenario, seen: dict) -> _StepText:
    step = _classify(step_id, raw, compiled, seen)
    criteria = compiled.criteria[step_id]
    best = _judge_criteria(step, criteria, compiled.criterion_owners[step_id])
    topic, dismissed_topics = _topic_credit(step_id, compiled, step)
    if step.dismissing.intersection(e.index for e in best if e.credit > 0):
        best, topic = _judge_without_dismissals(step, compiled, best)
    step.hits += _dismissal_hits(step, criteria, best, dismissed_topics)
    _register_credited(step, best, seen)
    _count_words(step, compiled.vocabulary)
    step.best, step.topic = best, topic
    return step


def _step_report(step: _StepText, compiled: _CompiledScenario, texts: dict[str, _StepText]) -> StepReport:
    criteria, best = compiled.criteria[step.step_id], step.best
    results = [_criterion_result(c, texts.get(evidence.step, step), evidence) for c, evidence in zip(criteria, best)]
    rubric = sum(c.weight * e.credit for c, e in zip(criteria, best)) / sum(c.weight for c in criteria)
    coverage = 100.0 * ((1 - TOPIC_SHARE) * rubric + TOPIC_SHARE * step.topic)
    penalty = min(MAX_PENALTY, sum(hit.penalty for hit in step.hits))
    score = max(0.0, min(100.0, coverage - penalty))
    if any(reason == GRADER_ADDRESSED for reason in step.excluded.values()):
        score = 0.0  # a step that talks to the grader cannot be taken at its word
    report = StepReport(step.step_id, round(score, 1), results, step.hits, words=len(step.text.keys))
    report.feedback = _feedback(report, step)
    report.next_move = next_move(report, bool(step.text.keys))
    return report


def _credit_misplaced(texts: dict[str, _StepText], compiled: _CompiledScenario) -> None:
    """A step that misses most of its criteria may have its answers written under other steps: each missing
    criterion looks for evidence in the other steps' sentences that earned nothing there, and counts it as
    partly covered (MISPLACED_SHARE), with a note saying where it was found."""
    weak = [
        step_id for step_id, step in texts.items()
        if sum(e.credit == 0 for e in step.best) * 2 >= len(step.best) and GRADER_ADDRESSED not in step.excluded.values()
    ]
    if not weak:
        return
    # Each other step's text is searched once, for the patterns of every criterion that could still gain.
    wanted = _still_wanted(texts, weak, compiled)
    sources = {
        step_id: compiled.misplaced.search(step.text, wanted) for step_id, step in texts.items()
        if step.quality and GRADER_ADDRESSED not in step.excluded.values() and weak != [step_id]
    }
    # A sentence serves once, wherever it was written and however often it was pasted.
    used = {_said(step, e.index) for step in texts.values() for e in step.best if e.credit > 0}
    for step_id in weak:
        step = texts[step_id]
        for other_id, matches in sources.items():
            if other_id != step_id:
                _take_misplaced(step, texts[other_id], matches, compiled, used)
        used |= {_said(texts[e.step], e.index) for e in step.best if e.step}


def _still_wanted(texts: dict[str, _StepText], weak: list[str], compiled: _CompiledScenario) -> set[Pattern]:
    """The own patterns of the weak steps' criteria that a sentence from elsewhere could still improve: one
    that already has MISPLACED_SHARE of the best credit cannot gain from a misplaced sentence."""
    return {
        pattern
        for step_id in weak
        for criterion, evidence in zip(compiled.criteria[step_id], texts[step_id].best)
        if evidence.credit < MISPLACED_SHARE * SPECIFIC_CREDIT
        for pattern in criterion.patterns
        if pattern not in criterion.generic
    }


def _said(step: _StepText, index: int) -> str:
    """A segment's words as said, whichever step and copy they stand in."""
    return step.text.segments[index].text.strip().lower()


def _take_misplaced(step: _StepText, other: _StepText, matches: dict, compiled: _CompiledScenario, used: set[str]) -> None:
    """Improve `step`'s evidence with sentences of `other` (whose `matches` are given) that earned nothing there."""
    criteria = compiled.criteria[step.step_id]
    where = f"written under {STEPS_BY_ID[other.step_id].title}, where it earns nothing: move it here"
    for pattern, segments in matches.items():
        owners = compiled.criterion_owners[step.step_id].get(pattern, ())
        for index, span in segments.items():
            for owner, _ in owners:
                # Cheapest tests first: most candidates cannot beat what the criterion has already.
                if other.quality.get(index, 0.0) * MISPLACED_SHARE <= step.best[owner].credit or index in other.dismissing:
                    continue
                credit, note = _credit(criteria[owner], pattern, other, index)
                credit *= MISPLACED_SHARE
                if credit <= step.best[owner].credit or _said(other, index) in used:
                    continue
                if exclusions.dismisses(other.text, other.text.segments[index], span, _own_keys(pattern)):
                    continue
                step.best[owner] = _Evidence(credit, index, 0, f"{note}; {where}" if note else where, step.best[owner].dismissed, other.step_id)


def _judge_without_dismissals(step: _StepText, compiled: _CompiledScenario, first: list[_Evidence]) -> tuple[list[_Evidence], float]:
    """Judge again with every sentence that turns a safeguard down set aside: such a sentence earns nothing
    for any criterion ("no red team: the sandbox already covers injection" is not evidence of injection
    handling). The safeguards each criterion saw turned down in the first pass are kept."""
    for index in step.dismissing:
        step.quality.pop(index, None)
    best = _judge_criteria(step, compiled.criteria[step.step_id], compiled.criterion_owners[step.step_id])
    for evidence, before in zip(best, first):
        if evidence.dismissed < 0:
            evidence.dismissed = before.dismissed
    topic, _ = _topic_credit(step.step_id, compiled, step)
    return best, topic


def _register_credited(step: _StepText, best: list[_Evidence], seen: dict[int, str]) -> None:
    """Record the word triples of the sentences that earned credit here, so that later steps credit them no
    more. A sentence that earned nothing (a paragraph pasted into every step, first in a step it does not
    answer) stays free to earn in the step it does answer: credit once, where it first counts."""
    for index in {evidence.index for evidence in best if evidence.credit > 0}:
        seen.update(dict.fromkeys(step.shingles[index].difference(seen), step.step_id))  # not `- seen.keys()`: that walks all of `seen`


def _feedback(report: StepReport, step: _StepText) -> list[str]:
    notes = []
    for c in report.criteria:
        if c.state == "met":
            notes.append(f"Met: {c.description} — “{c.quote}”")
        elif c.state == "partly":
            notes.append(f"Partly: {c.description} Found “{c.quote}”, {c.note}. Ask yourself: {c.probe}")
        else:
            notes.append(f"Missing: {c.description} Ask yourself: {c.probe}")
    for hit in report.anti_patterns:
        notes.append(f"Anti-pattern: {hit.title} — “{hit.quote}”. Better: {hit.better}")
    notes += _excluded_notes(step)
    if step.text.keys and step.quality and all(q == FRAGMENT_CREDIT for q in step.quality.values()):
        notes.append("Only keywords or fragments: write full sentences that say how the idea works here.")
    return notes


def _excluded_notes(step: _StepText) -> list[str]:
    """Up to NOTES_PER_REASON quotes per reason a sentence was set aside, in text order, then a count of
    the rest. The walk through the sentences stops once every reason has its quotes: a step of 8,000
    set-aside lines needs only the first few."""
    counts = Counter(step.excluded.values())
    quoted = {reason: 0 for reason in counts if not reason.startswith(("Anti-pattern", "Turns the safeguard"))}
    wanted = sum(min(counts[reason], NOTES_PER_REASON) for reason in quoted)
    notes, order = [], {}
    for index in sorted(step.excluded) if wanted else ():
        reason = step.excluded[index]
        if reason in quoted:
            order.setdefault(reason)
            if quoted[reason] < NOTES_PER_REASON:
                quoted[reason] += 1
                wanted -= 1
                notes.append(f"{reason}: “{_quote(step.text.segments[index])}”")
                if not wanted:
                    break
    notes += [f"{reason}: {counts[reason] - NOTES_PER_REASON} more sentence(s) like these." for reason in order if counts[reason] > NOTES_PER_REASON]
    return notes


def _kept_and_set_aside(texts: list[_StepText]) -> tuple[str, str]:
    """The answer's text in two parts: what was not set aside, and what was (grader-addressed, anti-pattern, dismissal)."""
    kept, aside = [], []
    for step in texts:
        for segment in step.text.segments:
            (aside if step.excluded.get(segment.index, "").startswith(SET_ASIDE) else kept).append(segment.text)
    return " ".join(kept), " ".join(aside)


def _topicality(words: _AnswerWords, compiled: _CompiledScenario, met_share: float) -> tuple[float, str]:
    """The answer's topicality (see `topicality`) and the flag that explains it ("" when it is 1)."""
    from_words = topical.from_words(words.mentioned, words.content, words.written, compiled.own_weight, words.concrete_share)
    topicality = max(from_words, topical.from_rubric(met_share))
    if topicality >= 1.0 or not words.content:
        return topicality, ""
    tool_names = [tool.name for tool in compiled.scenario.tools]
    others = topical.other_tools(*_kept_and_set_aside(words.texts), tool_names)
    if others:
        return 0.0, topical.tools_flag(others, tool_names)
    return topicality, topical.flag(topicality, words.mentioned, words.content, words.written)


def _as_answers(answers: Answers | dict | str | os.PathLike) -> Answers:
    if isinstance(answers, Answers):
        return answers
    if isinstance(answers, dict):
        return answers_from_dict(answers)
    return load_answers(answers)


def score(answers: Answers | dict | str | os.PathLike, scenario: Scenario | None = None) -> Report:
    """Score an answer set against its scenario's rubric. Pure, offline and deterministic."""
    with _cycle_collector_paused():
        return _score(answers, scenario)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Hold back Python's cycle collector while one answer set is scored. A long step makes tens of
    thousands of short-lived lists and segments, which set off collections that walk every object of
    the process (a class's gradebook included); reference counting frees them anyway. Only the call
    that paused the collector turns it back on, so nesting and a caller's own gc.disable() hold."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _score(answers: Answers | dict | str | os.PathLike, scenario: Scenario | None) -> Report:
    answers = _as_answers(answers)
    scenario = scenario or load_scenario(answers.scenario)
    compiled = _compile(scenario)
    seen: dict[int, str] = {}  # hashed word triple -> the step it first appeared in
    steps: dict[str, StepReport] = {}
    flags: list[str] = []
    words = _AnswerWords()
    texts = {step_id: _judge_step(step_id, answers.graded_text(step_id), compiled, seen) for step_id in STEP_IDS}
    _credit_misplaced(texts, compiled)
    for step_id, step in texts.items():
        steps[step_id] = _step_report(step, compiled, texts)
        flags += step.flags
        words.add(step)
    empty = [STEPS_BY_ID[s].title for s in STEP_IDS if not answers.graded_text(s).strip()]
    if empty:
        flags.append(f"{len(empty)} of {len(STEP_IDS)} steps have no answer yet: {', '.join(empty)}.")
    criteria = [c for report in steps.values() for c in report.criteria]
    met_share = sum(c.state == "met" for c in criteria) / len(criteria) if criteria else 0.0
    topicality, flag = _topicality(words, compiled, met_share)
    flags += [flag] if flag else []
    if topicality < 1.0 and words.content:
        for report in steps.values():
            report.score = round(report.score * topicality, 1)
    weights = {step_id: spec.weight for step_id, spec in scenario.step_specs().items()}
    total = sum(weights[s] * steps[s].score for s in STEP_IDS) / sum(weights.values())
    dismissed = sum(hit.id == DISMISSED for report in steps.values() for hit in report.anti_patterns)
    if dismissed > 1:
        share = max(0.0, 1 - RECKLESS_SHARE * (dismissed - 1))
        flags.append(f"The design turns down {dismissed} safeguards it needs, so the total counts at {share:.0%}.")
        total *= share
    return Report(scenario.id, "offline", round(total, 1), steps, flags, scenario.title, answers.learner)
