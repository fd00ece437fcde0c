"""Detectors for text that must not earn credit, each a small pure function.

Like nbgrader's preprocessors, every detector can only *add* exclusions (a
segment index and the reason the learner sees); none can add credit. That keeps
the property the tests check: appending text never raises a score.

- `grader_addressed`: text talking to the grader ("ignore the rubric", "SYSTEM:").
- `undecided`: a decision deferred rather than made ("we will decide which ...").
- `dismissal`: a safeguard mentioned only to be turned down ("no human review needed").

All are linear in the text: regular expressions without nested repetition, and
one bisect per match to find its segment.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, compress, repeat

from .matching import Caseless, Segment, Text, foldable, stem


def letter_first(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """`pattern`, every alternative of which opens with an ASCII letter, behind a look-ahead for one.

    The engine then turns down every other position (spaces, punctuation, the end of each word,
    where `\\b` also holds) with one character test, instead of trying every alternative there:
    the same matches in less time for the long alternations below (not for the grader rules'
    short ones, where the engine's own first-letter check already does this). A test checks the
    condition on each expression built with this."""
    return re.compile(rf"(?=[a-z])(?:{pattern})", flags)


# --- text addressed to the grader -------------------------------------------------------------------


@dataclass(frozen=True)
class GraderRule:
    """One way of talking to the grader, written as slots: alternatives of words, or a gap of at most N characters.

    The regular expression and the guard (the words the text must contain before
    the expression is worth running) are both built from the same slots, so they
    cannot drift apart.
    """

    slots: tuple[tuple[str, ...] | int, ...]
    names_the_grader: bool  # mentions marks, scores or the grader: flagged even inside design talk
    expression: re.Pattern[str]
    guard: tuple[frozenset[str], ...]
    # Where a match can start: the first word of each alternative of the first slot, lowercased (none
    # when a prefix such as `</?` comes first). `spans` tries the expression only there.
    openers: tuple[str, ...] = ()

    @classmethod
    def of(cls, *slots: tuple[str, ...] | int, names_the_grader: bool = True, prefix: str = r"\b", suffix: str = r"\b") -> GraderRule:
        parts = []
        for slot in slots:
            if isinstance(slot, int):
                parts.append(rf"[^.\n]{{0,{slot}}}")
            else:
                words = "|".join(r"\s+".join(map(re.escape, alternative.split())) for alternative in slot)
                parts.append(rf"(?:{words})")
        expression = re.compile(prefix + _join(parts) + suffix, re.IGNORECASE)
        guard = tuple(frozenset(_first_word(a) for a in slot) for slot in slots if not isinstance(slot, int))
        openers = () if prefix != r"\b" or isinstance(slots[0], int) else tuple(sorted({a.split()[0].lower() for a in slots[0]}))
        if not all(opener[:1].isascii() and opener[:1].isalpha() for opener in openers):
            openers = ()  # `spans` skips a start after a word character, which only holds for a word's first letter
        return cls(tuple(slots), names_the_grader, expression, guard, openers)

    def could_match(self, vocabulary: set[str]) -> bool:
        return all(not group.isdisjoint(vocabulary) for group in self.guard)

    def spans(self, raw: str, lowered: str | None) -> list[tuple[int, int]]:
        """The spans `expression.finditer(raw)` finds. With `lowered` (`raw` lowercased, of the same length
        and free of case traps) the lowercase expression is tried only where an opener starts a word, in
        order and never inside an earlier match, which finds the same spans without trying every
        position of a long text."""
        if lowered is None or not self.openers:
            return [m.span() for m in self.expression.finditer(raw)]
        folded, spans, end = _folded(self.expression), [], 0
        for start in sorted(set(chain.from_iterable(_occurrences(lowered, opener) for opener in self.openers))):  # "max" is in "maximum"
            if start < end or (start and _is_word_character(lowered[start - 1])):
                continue  # inside the last match, or mid-word where the expression's \b cannot hold
            match = folded.match(lowered, start)
            if match:
                spans.append(match.span())
                end = match.end()
        return spans


def _occurrences(text: str, word: str) -> list[int]:
    found, at = [], text.find(word)
    while at >= 0:
        found.append(at)
        at = text.find(word, at + 1)
    return found


def _is_word_character(character: str) -> bool:
    return character.isalnum() or character == "_"


@lru_cache(maxsize=None)
def _folded(expression: re.Pattern[str]) -> re.Pattern[str]:
    return Caseless(expression).folded


def _join(parts: list[str]) -> str:
    """Word slots follow each other with whitespace between them; a gap slot absorbs its own spacing."""
    joined = parts[0]
    for previous, part in zip(parts, parts[1:]):
        gap = previous.startswith("[^") or part.startswith("[^")
        joined += (r"\b" + part + r"\b" if part.startswith("[^") else part) if gap else r"\s+" + part
    return joined


def _first_word(alternative: str) -> str:
    """The token the text's vocabulary holds for an alternative's first word (as `matching` tokenises it)."""
    word = re.findall(r"\d+|[a-z]+(?:'[a-z]+)?", alternative.lower())
    return word[0] if word else alternative


_MARKS = ("mark", "marks", "score", "scores", "point", "points", "credit", "grade", "grades")
_GRADER = ("grader", "evaluator", "scorer", "examiner", "marker")
GRADER_RULES: tuple[GraderRule, ...] = (
    GraderRule.of(("system", "instruction", "instructions", "prompt", "grader"), names_the_grader=False, prefix=r"</?\s*", suffix=r"\s*>"),
    GraderRule.of(("ignore", "disregard"), 40, ("rubric", "criteria", "grading", "scoring", "grader")),
    GraderRule.of(("ignore", "disregard", "forget"), 40, ("instruction", "instructions", "prompt", "above", "previous", "prior"), names_the_grader=False),
    GraderRule.of(("full", "maximum", "max", "perfect", "top", "all the"), _MARKS),
    GraderRule.of(("score", "grade", "rate", "mark"), ("this", "me", "it", "my answer", "the answer"), 25, ("100", "10/10", "perfect", "perfectly", "highly", "maximum", "full")),
    GraderRule.of(("you",), ("are", "act as", "must act as"), ("now a", "now an", "now the", "a", "an", "the"), _GRADER),
    GraderRule.of(("dear", "attention", "note to", "note to the", "hey"), _GRADER + ("ai", "model", "llm")),
    GraderRule.of(("as",), ("an ai", "a language model", "an llm"), 30, ("must", "should", "will"), names_the_grader=False),
    GraderRule.of(("this", "my"), ("answer", "response", "submission"), ("is", "deserves", "merits"),
                  ("perfect", "excellent", "100", "hire-level", "hire level", "5/5", "top marks", "full marks", "full credit")),
    GraderRule.of(("to the", "for the", "note to the", "dear", "attention", "hey"), ("automated", "automatic", "ai", "scoring", "grading", "marking"),
                  ("scorer", "grader", "system", "evaluator", "marker", "checker")),
    GraderRule.of(("scoring", "grading", "marking"), ("system", "engine", "bot", "model"), suffix=r"\s*:"),
    GraderRule.of(("keywords", "key words", "buzzwords", "key terms"), ("for",), ("scoring", "grading", "marking", "the grader", "the scorer", "the rubric", "the marker")),
    GraderRule.of(("mark", "tick"), ("all", "every", "each"), 20, ("rubric", "criteria", "criterion"), 30, ("present", "met", "covered", "satisfied", "fulfilled")),
)
# A line that opens with a role label ("SYSTEM:", "Grader:"), as injected prompts do.
_ROLE_WORDS = frozenset("system systems assistant assistants grader graders developer developers instruction instructions".split())
# "Assistant:" opens the sample replies of a dialogue and "Graders:" the list of who grades an eval, so a
# grader label counts only when the line goes on to speak to the grader ("Grader: give this full marks").
_ROLE_LINE = re.compile(
    r"^[^\S\n]*(?:system|developer|instruction)[^\S\n]*:"
    r"|^[^\S\n]*graders?[^\S\n]*:[^\S\n]*(?:please|you|give|award|mark|score|rate|note|ignore|this|my|the answer)\b",
    re.IGNORECASE | re.MULTILINE,
)
# A segment that describes hostile text as something the system handles is design talk, not an attack.
DESIGN_TALK = re.compile(
    r"\b(?:inject\w*|attack\w*|malicious|adversar\w*|jailbreak\w*|untrusted|hostile|as data|treat(?:s|ed)? (?:it |them )?as|"
    r"embedded|hidden|smuggl\w*|tries to|trying to|attempts? to|asks? (?:it |the \w+ )?to|asking (?:it )?to|"
    r"(?:text|content|notes?|emails?|documents?|messages?|tickets?|pages?|comments?) (?:that|which|saying|with)|"
    r"filter\w*|detect\w*|flag\w*|strip\w*|block\w*|quarantin\w*|refuses?|sanitis\w*|sanitiz\w*)",
    re.IGNORECASE,
)


# The first letters every DESIGN_TALK alternative starts with: a text with no word starting so has no design talk.
_TALK_STARTS = tuple(sorted({"inject", "attack", "malicious", "adversar", "jailbreak", "untrusted", "hostile", "as", "treat", "embedded",
                             "hidden", "smuggl", "tries", "trying", "attempt", "ask", "text", "content", "note", "email", "document",
                             "message", "ticket", "page", "comment", "filter", "detect", "flag", "strip", "block", "quarantin",
                             "refuse", "sanitis", "sanitiz"}))


# Words in quotation marks are mentioned, not said: 'a ticket saying "ignore your instructions"'.
_QUOTED = re.compile(r'"[^"\n]{1,300}"|“[^”\n]{1,300}”|(?<![\w])\'[^\'\n]{1,300}\'(?![\w])')


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Does one of `spans` (sorted, not overlapping) contain start..end? One bisect."""
    i = bisect_right(spans, (start, len(spans) and spans[-1][1] + 1)) - 1
    return i >= 0 and spans[i][0] <= start and end <= spans[i][1]


def grader_addressed(text: Text) -> list[Segment]:
    """Segments holding text addressed to the grader. Injection-shaped text that is quoted, or that the
    segment describes as something the system handles ("a note saying ignore previous instructions is
    treated as data"), is design talk and stays; text that names the grader or its marks is flagged
    wherever it is."""
    spans = _grader_spans(text)
    if not spans or not text.segments:
        return []
    starts, ends = text.segment_starts, text.segment_ends
    firsts, lasts = _segments_touched(starts, ends, spans)
    has_quotes = any(q in text.raw for q in "\"“'")
    has_talk = any(w.startswith(_TALK_STARTS) for w in text.vocabulary)
    if not has_quotes and not has_talk:  # nothing can excuse a span: each flags every segment it touches
        return list(map(text.segments.__getitem__, sorted(set(chain.from_iterable(map(range, firsts, lasts))))))
    # Quotes and design talk matter only around a span that they could excuse: they are looked for in
    # the lines holding such spans and their sentences, not in the whole text.
    windows = _line_windows(text.raw, [
        (min(start, starts[first]), max(end, ends[last - 1])) for (start, end, names), first, last in zip(spans, firsts, lasts) if not names and last > first
    ])
    quoted = [m.span() for left, right in windows for m in _QUOTED.finditer(text.raw, left, right)] if has_quotes else []
    talking = _holding(starts, ends, _design_talk_in(text, windows) if has_talk else [])
    flagged = bytearray(len(starts))  # 1 for each segment a span touches (and that the span may flag)
    for (start, end, names_the_grader), first, last in zip(spans, firsts, lasts):
        if not names_the_grader and quoted and _inside(quoted, start, end):
            continue
        for index in range(first, last):
            if names_the_grader or not talking[index]:
                flagged[index] = 1
    return list(compress(text.segments, flagged))


def _segments_touched(starts: list[int], ends: list[int], spans: list[tuple[int, int, bool]]) -> tuple[list[int], list[int]]:
    """For each character span, the range of segments it overlaps: from the one it starts in (or the
    next, if it starts between two) to the last one that starts before it ends."""
    before = [bisect_right(starts, start) - 1 for start, _, _ in spans]
    firsts = [first + 1 if first < 0 or ends[first] <= start else first for first, (start, _, _) in zip(before, spans)]
    return firsts, [bisect_left(starts, end, first) for first, (_, end, _) in zip(firsts, spans)]


def _line_windows(raw: str, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The whole lines holding each character range, merged where they meet. Quotes and design talk never
    hold a line break, so scanning these lines finds what scanning the whole text finds in them. Each
    character is searched for a line break at most once."""
    windows: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if windows and start <= windows[-1][1]:
            if end > windows[-1][1]:
                right = raw.find("\n", end)
                windows[-1] = (windows[-1][0], len(raw) if right < 0 else right)
            continue
        left = raw.rfind("\n", windows[-1][1] if windows else 0, start) + 1
        right = raw.find("\n", end)
        windows.append((left, len(raw) if right < 0 else right))
    return windows


def _design_talk_in(text: Text, windows: list[tuple[int, int]]) -> list[int]:
    """Where design talk starts in the windows."""
    lowered = _lowered(text)
    expression, subject = (_folded(DESIGN_TALK), lowered) if lowered is not None else (DESIGN_TALK, text.raw)
    return [m.start() for left, right in windows for m in expression.finditer(subject, left, right)]


def _holding(starts: list[int], ends: list[int], positions: list[int]) -> bytearray:
    """1 for each segment (by its character bounds) that holds one of `positions`."""
    holds = bytearray(len(starts))
    for position in positions:
        index = bisect_right(starts, position) - 1
        if index >= 0 and position < ends[index]:
            holds[index] = 1
    return holds


def _lowered(text: Text) -> str | None:
    """`text.raw` lowercased, when lowercase expressions find in it what ignoring case finds in the raw
    text (found once per text)."""
    if "lowered" not in text.memo:
        text.memo["lowered"] = foldable(text.raw)
    return text.memo["lowered"]


def _grader_spans(text: Text) -> list[tuple[int, int, bool]]:
    raw = text.raw
    spans = []
    lowered = _lowered(text)
    for rule in GRADER_RULES:
        if rule.could_match(text.vocabulary):
            spans += [(*span, rule.names_the_grader) for span in rule.spans(raw, lowered)]
    if ":" in raw and not _ROLE_WORDS.isdisjoint(text.vocabulary):
        lines = map(re.Match.span, _ROLE_LINE.finditer(raw))
        if "grader" in text.vocabulary or "graders" in text.vocabulary:
            spans += [(start, end, "grader" in raw[start:end].lower()) for start, end in lines]
        else:  # no line can be labelled for the grader: thousands of "SYSTEM:" lines cost one tuple each
            spans += map(tuple.__add__, lines, repeat((False,)))
    return spans


# --- decisions deferred, not made --------------------------------------------------------------------

# "We will decide which facts are fetched live", "the team needs to think about retries", "it is
# important to consider ...": a question turned into a statement. Two shapes: a planning verb followed
# by the question it leaves open (which, what, how, whether ...), or a verb of pure deliberation.
_SUBJECT = r"\b(?:we|i|the team|our team|they|you|the design|this design|our design|the plan|the solution|the proposal|the approach)(?:'ll|'d| will| would| should| shall| need to| needs to| must| have to| has to| are going to| plan to| want to| can| could| might| may| then| also| still| first| carefully| later| next)*"
_PLANNING = (
    r"decide|determine|define|identify|describe|list|specify|choose|pick|work out|figure out|find out|establish|agree on|agree|"
    r"clarify|consider|think about|think through|explore|investigate|discuss|map out|spell out|set out|document|write down|settle|work through|"
    r"note|ask|rank|sort|map|examine|say|state|sort out|lay out"
)
_DELIBERATION = r"consider|think about|think through|take into account|keep in mind|look into|explore|investigate|discuss|reflect on|weigh up|find a way|put numbers on|pay attention to"
_UNDECIDED = letter_first(
    rf"{_SUBJECT} (?:{_PLANNING})(?: \w+){{0,4}}? (?:which|what|whether|how|where|when|who|why)\b"
    rf"|{_SUBJECT} (?:must|should|has to|have to|needs? to|will)\b[^.;:?!]{{0,80}}? and (?:then |also )?(?:{_PLANNING})(?: \w+){{0,4}}? (?:which|what|whether|how|where|when|who)\b"
    rf"|{_SUBJECT} (?:{_DELIBERATION})\b"
    r"|\b(?:it is|it's|it will be) (?:important|crucial|key|essential|necessary|worth) to (?:consider|think about|decide|determine|define|figure out|look at|address)\b"
    r"|\bto be (?:decided|determined|defined|confirmed|agreed)\b|\btbd\b",
    re.IGNORECASE,
)
# After a colon or semicolon, a number, an arrow or a limit states the decision the sentence promised.
_DECIDED_AFTER = re.compile(r"[:;—–][^:;]*(?:\d|→|->|=>|\b(?:if|only|always|never|at most|at least|no more than|under|above|below)\b)", re.IGNORECASE)


# "Someone must sign off", "the cap has to be enforced somewhere", "certain checks are mandatory": the
# who, where or what of the decision left as a placeholder. A number, an arrow, a prohibition ("must
# never say whether something is covered") or a colon after it (the list it stands for) states one.
_PLACEHOLDER = letter_first(
    r"\b(?:someone|somebody|something|somewhere|somehow|(?:some|certain) (?!of\b)\w+)\b[^.;:,?!()]{0,40}?"
    r"\b(?:must|should|has to|have to|needs? to|is (?:mandatory|required|needed)|are (?:mandatory|required|needed))\b"
    r"|\b(?:must|should|has to|have to|needs? to|will|shall)\b(?: \w+){0,4}? (?:somewhere|somehow|something|someone|somebody)\b"
)
# "We will agree the numbers with finance", "we need to define metrics": the targets promised, not given.
_UNNAMED_TARGETS = letter_first(
    rf"{_SUBJECT} (?:agree|set|define|choose|pick|decide|determine|settle|fix|work out|come up with|find)(?: on| up| with \w+(?: \w+)?)? "
    r"(?:the |our |some |clear |concrete |specific |target |success )?(?:numbers|targets|thresholds|limits|metrics|criteria|goals|budgets|rules|bar|cut-?offs?|kpis)\b"
    # "with numbers that must hold before each stage", "there should be thresholds": the targets promised, not given
    r"|\b(?:numbers|targets|thresholds|limits|metrics|criteria|gates|cut-?offs?) (?:that|which) (?:must|should|will|would|need to|have to)\b"
    r"|\bthere (?:should|must|will|would|needs? to) be (?:some |certain |clear )?(?:numbers|targets|thresholds|limits|metrics|criteria|gates|cut-?offs?)\b"
)
_STATED = re.compile(r"\d|→|->|=>|\b(?:never|not|no|cannot|can't|won't|mustn't|shouldn't|don't|doesn't)\b", re.IGNORECASE)
_UNDECIDED_FAST, _DECIDED_AFTER_FAST = Caseless(_UNDECIDED), Caseless(_DECIDED_AFTER)
_PLACEHOLDER_FAST, _STATED_FAST, _UNNAMED_TARGETS_FAST = Caseless(_PLACEHOLDER), Caseless(_STATED), Caseless(_UNNAMED_TARGETS)
_PLACEHOLDER_WORDS = frozenset(stem(w) for w in "someone somebody something somewhere somehow some certain".split())
_TARGET_WORDS = frozenset(stem(w) for w in "numbers targets thresholds limits metrics criteria goals budgets rules bar cutoffs cut kpis gates".split())
_UNDECIDED_WORDS = frozenset(
    stem(w)
    for w in """decide determine define identify describe list specify choose pick work figure find establish agree clarify
    consider think explore investigate discuss map spell set document write settle note ask rank sort examine take keep say state lay
    look reflect weigh put pay important crucial key essential necessary worth decided determined defined confirmed
    agreed tbd""".split()
)


def undecided(segment: Segment, keys: list[str] | None = None) -> bool:
    """The sentence defers the decision ("we will decide which ...", "someone must sign off", "we will
    agree the numbers with finance") and does not go on to state it.

    `keys`, the sentence's stems, let the expression be skipped when none of its verbs occurs."""
    if keys is None or not _UNDECIDED_WORDS.isdisjoint(keys):
        match = _UNDECIDED_FAST.search(segment.text)
        if match and not _DECIDED_AFTER_FAST.search(segment.text, match.end()):
            return True
    if keys is not None and _PLACEHOLDER_WORDS.isdisjoint(keys) and _TARGET_WORDS.isdisjoint(keys):
        return False
    match = _PLACEHOLDER_FAST.search(segment.text) or _UNNAMED_TARGETS_FAST.search(segment.text)
    return bool(match) and ":" not in segment.text[match.end():] and not _STATED_FAST.search(segment.text)


# --- safeguards turned down --------------------------------------------------------------------------

# Negations of a thing ("no canary", "without review") and of a doing ("we don't test it").
_NOUN_NEGATORS = frozenset(stem(w) for w in "no without nor neither".split())
_VERB_NEGATORS = frozenset(stem(w) for w in "not never don't won't isn't aren't doesn't didn't can't cannot shouldn't wouldn't".split())
_NEGATORS = _NOUN_NEGATORS | _VERB_NEGATORS
_WITHOUT = stem("without")
NEGATION_REACH = 3  # a negation turns the evidence down only when it stands this close to it
_CONDITION_START = re.compile(r"\W*(?:if|when|whenever|unless|until|once|where|in case)\b", re.IGNORECASE)
# After a verb negation, the verbs that turn a safeguard down rather than forbid a risky action:
# "we won't need review", "we don't test it" (whereas "never issue a refund" and "not sent" are rules).
_DISMISSING_VERBS = frozenset(
    stem(w)
    for w in """need needs require requires bother add include build worry care plan implement spend invest test monitor
    track review check verify audit measure evaluate want needed necessary required worth important useful helpful
    relevant representative realistic essential""".split()
)
# After a thing negated, words that make it a rule or a state: a prohibited action within the next few
# words ("no card number enters the prompt") or a state the system reacts to ("no match", "none found").
_STATED_AS_RULE = frozenset(
    stem(w)
    for w in """enter enters reach reaches leave leaves go goes get gets appear appears cross crosses touch touches move moves
    pass passes sent send sees see shown show stored store logged quoted issued paid posted merged deployed published
    found match matches matching result results answer confident certain reply response ack acknowledgement summary
    signal it them this that duplicate duplicates leak leaks error errors miss missed misses incident incidents harm
    complaint complaints breach breaches mistake mistakes accusation jargon blame double fraud surprise surprises
    rise increase growth drop change more fewer worse regression tool tools way ability path route""".split()
)
# What a design does to keep itself safe. A thing negated turns a safeguard down only when the words
# right after the negation name one ("no staged rollout", "without review"); "no PHI in logs", "no
# invented clauses" and "without network access" keep a risk out, which is the design working.
SAFEGUARD_REACH = 3
_SAFEGUARDS = frozenset(
    stem(w)
    for w in """review reviews reviewer reviewers approval approvals approve sign signoff check checks checking verification
    verify validation validate test tests testing eval evals evaluation evaluations monitoring monitor monitors alert alerts
    alerting audit audits auditing log logs logging trail rollout rollouts canary shadow staging staged stage phased pilot
    rollback rollbacks undo kill switch fallback fallbacks escalation escalate handoff human humans person people oversight
    supervision guardrail guardrails filter filters filtering limit limits cap caps budget budgets threshold thresholds gate
    gates gating confirmation confirm consent team sandbox backup backups sampling sample samples spot encryption
    permission permissions redaction safeguard safeguards safety protection control controls plan plans defence defense
    defences defenses red label labels labelling labeling""".split()
)
# A safeguard belittled or turned down in the clause that names it ("audit logs are overkill").
_DISMISSIVE = letter_first(
    r"\b(?:overkill|unnecessary|needless|pointless|no point|not needed|isn't needed|aren't needed|not necessary|isn't necessary|"
    r"no need|not required|(?:don't|do not|won't|will not|wouldn't|doesn't|does not) (?:really )?(?:need|require|bother)|"
    r"(?:i|we) don't think we need|not worth|waste of|over-?engineer\w*|red tape|"
    r"bureaucra\w*|box-?ticking|theat(?:re|er)|academic exercise|research project|(?:little|no real|no) (?:benefit|value|point)|"
    r"clutter\w*|just noise|distraction|hassle|undermin\w*|undersell\w*|paranoi\w*|overcautious|over-cautious|redundant|"
    r"duplicates? what|defeats? the (?:purpose|point)|not a real (?:threat|risk|problem|concern|issue)|too busy|too much (?:setup|work|effort|overhead)|"
    r"too (?:expensive|costly|complex|complicated|heavy|strict|cautious|slow) (?:to|for)|can wait|nice[- ]to[- ]have|not a priority|"
    r"(?:sorted|figured|dealt with|handled|worked|added) out later|(?:sort|figure|deal with|handle|work) (?:it |that |this |them )?out later|"
    # "skipped" alone is what a tool missed ("clauses the tool skipped"); skipping a safeguard is said so
    r"skip(?:ping|s)?|(?:we|is|are|gets?|get|be|been) skipped|ditch\w*|forgo\w*|get rid of|slows? (?:us|things|everyone|everything|the team) down|only (?:slows?|adds?)|"
    r"(?:would|will|only|just) (?:just |only )?(?:add\w*|slow\w*|delay\w*|get in the way|annoy\w*|confuse\w*|scare\w*|frustrate\w*) ?(?:cost|latency|friction|delay|noise|work|overhead|things|users|people|the \w+)?|"
    r"make(?:s)? (?:it|the \w+) (?:look|seem) (?:unsure|weak|uncertain|bad)|old[- ]fashioned|relic|busy ?work|paperwork|"
    r"(?:can|could) be (?:worked|sorted|figured|decided|added|done|dealt with|handled)(?: out)? (?:later|after)|someday|"
    # belief negated in front of the judgement: "I don't think a red-team phase is worth it"
    r"(?:i|we) (?:don't|do not|can't|cannot) (?:really )?(?:think|believe|see) (?:\S+ ){0,6}?(?:is |are |would be |will be )?"
    r"(?:worth|needed|necessary|required|useful|important|a priority)|(?:don't|do not|can't|cannot) see (?:the|any) (?:need|point|value)|"
    r"(?:not|isn't|is not|aren't|are not) (?:really )?(?:our|my|the team's) (?:problem|concern|job)|"
    r"(?:doesn't|does not|won't|will not) (?:really )?matter|(?:not a|no) big deal|"
    r"(?:wouldn't|would not|won't|will not|don't|do not|shouldn't|should not) (?:spend|waste|put|invest|sink) (?:\S+ ){0,2}?(?:effort|time|money|energy|resources))\b",
    re.IGNORECASE,
)
# A later clause that turns back on what came before ("..., so we'll leave it off"; "a nice idea but slows
# things down"): it covers the whole sentence.
_DISMISSED_BACK = letter_first(
    r"\b(?:(?:leave|leaving|keep|keeping) (?:it|them|that|this|those) (?:off|out)|(?:skip|skipping|drop|dropping|ditch|forget|ignore) "
    r"(?:it|them|that|this|those)\b|(?:don't|do not|won't|will not) (?:need|bother with|want|do|add|build) (?:it|them|that|this|those)\b|"
    r"not worth (?:it|the)|(?:add|do|fix|build|revisit) (?:it|them|that|those|this) later|later if (?:we|it)|if (?:we|it) ever need|"
    r"(?:nice|good|fine|great) (?:idea|in theory|on paper)\W+but|(?:so|and) (?:we'll |we will |just )?(?:hide|remove|drop|disable|turn off|switch off) (?:it|them|that|this)\b|"
    r"(?:it|this|that|they) (?:just |only )?(?:adds?|creates?|causes?) (?:friction|cost|latency|delay|noise|work|overhead))",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[,;:()]|\s(?:but|so|because|while|whereas|although|though|if|when|unless|then)\s|\s[-–—]\s", re.IGNORECASE)
_DISMISSIVE_FAST, _DISMISSED_BACK_FAST = Caseless(_DISMISSIVE), Caseless(_DISMISSED_BACK)


def dismisses(text: Text, segment: Segment, span: tuple[int, int], own_keys: frozenset[str]) -> bool:
    """Does the sentence turn down the idea found at token span `span`?

    Three signs: a dismissive phrase in the clauses the match covers
    ("overkill", "no need", "skip"); a later clause that turns back on it
    ("..., so we'll leave it off"); or, in those clauses, a negation that is not
    part of the evidence itself and turns the safeguard down: a thing negated
    ("no staged rollout") unless a prohibited action or a state follows ("no
    card number enters the prompt"), or a doing negated with need, use, test
    and the like ("we won't need review"), while "never issue a refund" is a
    rule. Half of a double negative ("never refund without an agent") stands.
    """
    sentence = _sentence(text, segment)
    if sentence.turns_back:
        return True
    if not sentence.dismissive and not sentence.negators:
        return False  # most sentences: nothing in them could turn anything down
    # Criteria and general concepts share patterns, so the same match is judged several times.
    key = ("dismisses", span, own_keys)
    found = text.memo.get(key)
    if found is None:
        found = text.memo[key] = _dismisses_at(text, segment, span, own_keys, sentence)
    return found


def _dismisses_at(text: Text, segment: Segment, span: tuple[int, int], own_keys: frozenset[str], sentence: _Sentence) -> bool:
    first, last = _clause_tokens(text, segment, span, sentence.cuts)
    clause_start, clause_end = text.token_offsets(segment)[first - segment.start], _char_end(text, segment, last)
    if any(start < clause_end and end > clause_start for start, end in sentence.dismissive):
        return True
    if _CONDITION_START.match(text.raw, clause_start):
        return False  # "if there is no match, ...": a condition the design reacts to
    keys, words = text.keys, text.words
    negators = [p for p in sentence.negators if first <= p < last and keys[p] not in own_keys]
    if any(keys[p] == _WITHOUT for p in negators[1:]):
        return False  # "never X without Y", "no X without Y": a requirement
    near = [p for p in negators if span[0] - NEGATION_REACH <= p < span[1] + NEGATION_REACH]
    list_start = _trigger_list_start(text.raw, segment)
    if list_start >= 0:
        offsets = text.token_offsets(segment)
        near = [p for p in near if offsets[p - segment.start] < list_start]
    return any(_turns_down(keys, words, p, last) for p in near)


# "Always goes to a senior lawyer: no cap on liability, IP assignment": the list after the colon names what
# sets the rule off; a negation in it describes a case, it does not turn the rule down.
_TRIGGER_HEAD = re.compile(r"\b(?:always|whatever|regardless)\b|\b(?:go|goes|sent|routed|escalated?|flagged|held)\s(?:to|for|back)\b", re.IGNORECASE)


def _trigger_list_start(raw: str, segment: Segment) -> int:
    """Where the list of cases after a rule's colon starts in the segment, or -1 when it has none."""
    colon = raw.find(":", segment.char_start, segment.char_end)
    return colon if colon >= 0 and _TRIGGER_HEAD.search(raw, segment.char_start, colon) else -1


def _turns_down(keys: list[str], words: list[str], position: int, end: int) -> bool:
    if keys[position] in _VERB_NEGATORS:
        return not _DISMISSING_VERBS.isdisjoint(keys[position + 1 : min(end, position + 3)])
    if words[position] == "no" and "yes" in words[max(0, position - 2) : position + 3]:
        return False  # "yes, no or needs a person": an answer, not a negation
    if keys[position] == _WITHOUT and position and words[position - 1].endswith("ed"):
        return False  # "resolved without an agent": an outcome being counted
    if _SAFEGUARDS.isdisjoint(keys[position + 1 : min(end, position + 1 + SAFEGUARD_REACH)]):
        return False  # "no PHI in vendor logs", "without network": a thing kept out, which is a rule
    return _STATED_AS_RULE.isdisjoint(keys[position + 1 : min(end, position + 5)])


def _char_end(text: Text, segment: Segment, last: int) -> int:
    offsets = text.token_offsets(segment)
    return offsets[last - segment.start] if last < segment.end else segment.char_end


@dataclass(frozen=True)
class _Sentence:
    """What dismissal needs of a sentence, found once however many matches it holds."""

    turns_back: bool  # a later clause turns back on what came before
    dismissive: tuple[tuple[int, int], ...]  # character spans of dismissive phrases
    cuts: tuple[tuple[int, int], ...]  # character spans of clause marks
    negators: tuple[int, ...]  # token positions of negations ("no", "without", "not", "won't" ...)


def _sentence(text: Text, segment: Segment) -> _Sentence:
    key = ("sentence", segment.index)
    found = text.memo.get(key)
    if found is None:
        base = segment.char_start
        back = bool(_DISMISSED_BACK_FAST.search(segment.text))
        dismissive = tuple((base + m.start(), base + m.end()) for m in _DISMISSIVE_FAST.finditer(segment.text))
        negators = tuple(compress(range(segment.start, segment.end), map(_NEGATORS.__contains__, text.keys[segment.start : segment.end])))
        if (dismissive or negators) and ('"' in segment.text or "“" in segment.text or "'" in segment.text):
            dismissive, negators = _outside_quotes(text, segment, dismissive, negators)
        # Clauses matter only where something could turn the idea down.
        cuts = tuple(m.span() for m in _CLAUSE.finditer(text.raw, segment.char_start, segment.char_end)) if dismissive or negators else ()
        found = text.memo[key] = _Sentence(back, dismissive, cuts, negators)
    return found


def _outside_quotes(text: Text, segment: Segment, dismissive: tuple, negators: tuple) -> tuple[tuple, tuple]:
    """Drop what stands inside quotation marks: quoted words are what someone says (the tutor's "can't check
    right now, here's a hint"), not the design turning a safeguard down."""
    base = segment.char_start
    quoted = [(base + start, base + end) for start, end in quoted_spans(segment.text)]
    if not quoted:
        return dismissive, negators
    offsets = text.token_offsets(segment)
    dismissive = tuple(span for span in dismissive if not within(span, quoted))
    negators = tuple(p for p in negators if not within((offsets[p - segment.start],) * 2, quoted))
    return dismissive, negators


def quoted_spans(piece: str) -> list[tuple[int, int]]:
    """Character spans of the quotations in a piece of text."""
    return [m.span() for m in _QUOTED.finditer(piece)]


def within(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    """Does `span` lie inside one of `spans` (sorted, not overlapping)? A bisection, so that a sentence of
    many quotes and many negations stays linear."""
    at = bisect_right(spans, (span[0], float("inf"))) - 1
    return at >= 0 and span[1] <= spans[at][1]


def _clause_tokens(text: Text, segment: Segment, span: tuple[int, int], cuts: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """Token range of the clause around the match; clause marks inside the match are ignored."""
    offsets = text.token_offsets(segment)
    match_start = offsets[span[0] - segment.start]
    match_end = offsets[min(span[1], segment.end) - 1 - segment.start]
    first, last = segment.start, segment.end
    for cut_start, cut_end in cuts:
        if cut_end <= match_start:
            first = segment.start + bisect_right(offsets, cut_start)
        elif cut_start > match_end:
            last = segment.start + bisect_right(offsets, cut_start)
            break
    return first, last


# --- questions ---------------------------------------------------------------------------------------


def asks(text: Text, segment: Segment) -> bool:
    """The sentence is a question ("Should the model see order history?"): it asks what to decide, it decides nothing."""
    return text.raw[segment.char_end : segment.char_end + 1] == "?"
