"""Evidence patterns: how the offline scorer recognises an idea in free text.

Learners paraphrase, so patterns match *stems near each other*, not exact strings.

Pattern syntax (used in scenario files and the built-in lexicons):

- A pattern is one or more **terms** joined by `~`: every term must occur in the
  same sentence, within a few words of each other, in any order.
  `roll back|revert|switch off ~ error rate|failure rate`
- A term lists **alternatives** separated by `|`. An alternative is one or more
  words that must appear together, in that order; a pronoun may sit between
  them, so `switch off` also finds "switch it off".
- Words are compared by stem, so `release` matches releases, released, releasing.
  A trailing `*` matches any word, as written, that starts with the prefix:
  `escalat*` finds escalate, escalated, escalation.
- Placeholders: `{num}` any number, `{pct}` a percentage (5%, 5 percent),
  `{money}` an amount of money ($0.40, 20 cents, 3 dollars), `{time}` a duration
  (200 ms, 2 seconds, 24 hours).
- `@concept` (in evidence lists) refers to a named concept from the built-in
  lexicon (`workbook concepts` lists them).

Everything here is linear in the text length: one regular-expression scan to
tokenise, one dictionary from stem to positions, then set, dictionary and bisect
look-ups. No backtracking patterns.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, compress
from operator import itemgetter
from typing import Iterable, Iterator

WINDOW = 12  # how many tokens may separate the terms of one pattern
PREFIX_MEMO_WORDS = 50_000  # words whose pattern prefixes a pattern set remembers before starting afresh
PLAUSIBLE_FROM = 16  # starts of a phrase from which it pays to look from its rarest word instead
GAP_WORDS = frozenset("it them this that these those everything all him her us one".split())

# Segment boundaries: sentence punctuation, a blank line, or a line break before
# something that starts a new line of thought (capital, digit, bullet, a table row,
# a lowercase "key: value" line). Any other break before a lowercase word is a
# hard-wrapped sentence and does not split it.
# A run of punctuation is one boundary, and none at all when it opens with a
# full stop right after e.g, i.e, etc or vs.
# Every alternative opens with one of the same few characters, written as one class so the engine
# skips straight to candidates instead of trying every position; each alternative then checks with a
# look-behind which character it opened with.
# A sentence end takes in the line break that follows it when that break is a boundary too: the two
# would cut out nothing but spaces, and a text of one sentence a line then costs one cut a line.
_LINE_BREAK = r"\n[ \t]*(?:\n|[-*•#>|]|(?=[A-Z0-9])|(?=[a-z][a-z0-9 _/&'-]{0,30}:(?:\s|$)))"
_BOUNDARY = re.compile(
    r"[.!?;\n](?:"
    r"(?<=\.)(?<![.!?;]\.)(?<!e\.g\.)(?<!i\.e\.)(?<!E\.g\.)(?<!I\.e\.)(?<!etc\.)(?<!vs\.)[.!?;]*(?=\s|$)(?:[ \t]*" + _LINE_BREAK + ")?"
    r"|(?<=[!?;])(?<![.!?;].)[.!?;]*(?=\s|$)(?:[ \t]*" + _LINE_BREAK + ")?"
    r"|(?<=\n)" + _LINE_BREAK[2:] + ")"
)
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+(?:'[a-z]+)?\d*|[%$€£]")  # on lowercased text
_TIME_UNITS = frozenset(
    """ms msec millisecond milliseconds s sec secs second seconds m min mins minute minutes h hr hrs hour hours
    d day days week weeks wk month months year years""".split()
)
_MONEY_UNITS = frozenset("dollar dollars usd cent cents eur euro euros gbp pound pounds buck bucks k".split())
_UNIT_QUALIFIERS = frozenset("business working calendar wall clock".split())  # "2 business days"
_PERCENT_WORDS = frozenset({"%", "percent", "pct", "percentage"})
_CURRENCY = frozenset("$€£")
_PLACEHOLDERS = frozenset({"{num}", "{pct}", "{money}", "{time}"})
_HAS_DIGIT = re.compile(r"[0-9]").search

_ASCII_DIGITS = frozenset("0123456789")


class PatternError(ValueError):
    pass


# Python's engine cannot skip ahead over case-insensitive alternatives: it enters each one at every
# position. On lowercased text, the same lowercase expression matched case-sensitively finds the same
# spans several times faster. Three characters match an ASCII letter case-insensitively without
# lowercasing to it (İ ı ſ): text holding one, or text whose length changes when lowercased, is
# matched as written. A test checks these facts against every code point.
CASE_TRAPS = re.compile("[\u0130\u0131\u017f]")


def foldable(s: str) -> str | None:
    """`s` lowercased, when lowercase expressions find in that what ignoring case finds in `s`; else None."""
    lowered = s.lower()
    return lowered if len(lowered) == len(s) and not CASE_TRAPS.search(s) else None


FOLD_MEMO_CHARS = 2_000  # sentences up to this long have their folded form remembered; a 100 KB one is not kept


@lru_cache(maxsize=4096)
def _foldable_sentence(s: str) -> str | None:
    return foldable(s)


def _foldable(s: str) -> str | None:
    """`foldable(s)`, remembered for sentences of ordinary length: each goes through several expressions in
    turn. Long texts are folded afresh, so the memory stays small whatever a class pastes."""
    return _foldable_sentence(s) if len(s) <= FOLD_MEMO_CHARS else foldable(s)


class Caseless:
    """A case-insensitive expression written in lowercase, run on lowered text wherever that finds the
    same matches. Positions are those of the text as given; matched groups come back lowercased."""

    def __init__(self, expression: re.Pattern[str]):
        self.exact = expression
        self.folded = re.compile(expression.pattern, expression.flags & ~re.IGNORECASE)

    def _pick(self, s: str) -> tuple[re.Pattern[str], str]:
        lowered = _foldable(s)
        return (self.folded, lowered) if lowered is not None else (self.exact, s)

    def search(self, s: str, pos: int = 0) -> re.Match[str] | None:
        expression, subject = self._pick(s)
        return expression.search(subject, pos)

    def finditer(self, s: str) -> Iterator[re.Match[str]]:
        expression, subject = self._pick(s)
        return expression.finditer(subject)


_VOWELS = frozenset("aeiouy")


def _short_cvc(w: str) -> bool:
    """A short stem like rat, hop, us: it lost an 'e' (rate, hope, use) with -ed or -ing."""
    if len(w) == 2:
        return w[0] in _VOWELS and w[1] not in _VOWELS
    return len(w) == 3 and w[0] not in _VOWELS and w[1] in _VOWELS and w[2] not in _VOWELS and w[2] not in "wx"


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A small, consistent suffix stripper (both patterns and text go through it).

    It does not need to produce dictionary words; it only needs to map the usual
    inflections of one word to the same key, cheaply: rate, rates, rated and
    rating all become "rate"; release, released and releasing become "releas".
    """
    w = word.lower().replace("'s", "").replace("'", "")
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and not w.endswith("eed"):
            rest = w[: -len(suffix)]
            if len(rest) < 2 or not _VOWELS & set(rest):
                break
            if len(rest) > 3 and rest[-1] == rest[-2] and rest[-1] not in "lsz":
                rest = rest[:-1]
            w = rest + "e" if _short_cvc(rest) else rest
            break
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


# Numbers written as words count as numbers: plain writing says "four teams" and "half the changes".
NUMBER_WORDS = frozenset(
    stem(w)
    for w in """one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty sixty
    hundred thousand dozen half quarter twice double triple""".split()
)
_SHARE_WORDS = frozenset({"half", "quarter"})


# --- text ---------------------------------------------------------------------


@dataclass(slots=True)
class Segment:
    """A sentence, bullet or line: the unit that quotes and credit are given for."""

    index: int
    start: int  # first token position
    end: int  # one past the last token position
    text: str  # the original characters, for quoting
    char_start: int = 0
    char_end: int = 0


@dataclass(slots=True)
class Text:
    """A tokenised text: stems and words by position, segments, and the positions of every stem."""

    raw: str
    lowered: str  # the same length as raw, so offsets hold in both
    keys: list[str]  # stems by position (interned)
    words: list[str]  # lowercased words by position
    segment_of: list[int]  # segment index by position
    segments: list[Segment]
    vocabulary: set[str]  # the distinct words, as written (for prefixes)
    by_key: dict[str, list[int]]  # stem or placeholder tag ({num}, ...) -> ascending positions
    _prefixed: dict[str, list[int]] = field(default_factory=dict)  # `prefix*` -> positions, as looked up
    _prefix_words: dict[str, list[str]] = field(default_factory=dict)  # `prefix*` -> the words starting so, when known
    _spans: dict[Alternative, list[Span]] = field(default_factory=dict)  # spans by alternative, as looked up
    _sorted_words: list[str] | None = None
    _offsets: dict[int, list[int]] = field(default_factory=dict)  # segment index -> character offset of each token
    _segment_starts: list[int] | None = None
    _segment_ends: list[int] | None = None
    memo: dict = field(default_factory=dict)  # per-text results other modules compute once (e.g. a sentence's dismissal facts)

    @property
    def segment_starts(self) -> list[int]:
        """Character offset where each segment starts (built once per text)."""
        if self._segment_starts is None:
            self._segment_starts = [segment.char_start for segment in self.segments]
        return self._segment_starts

    @property
    def segment_ends(self) -> list[int]:
        """Character offset where each segment ends (built once per text)."""
        if self._segment_ends is None:
            self._segment_ends = [segment.char_end for segment in self.segments]
        return self._segment_ends

    def token_offsets(self, segment: Segment) -> list[int]:
        """Character offset of each token of `segment`, in `raw` (found again by the same expression that made them)."""
        offsets = self._offsets.get(segment.index)
        if offsets is None:
            offsets = self._offsets[segment.index] = [m.start() for m in _WORD.finditer(self.lowered, segment.char_start, segment.char_end)]
        return offsets

    @property
    def keyset(self):
        """The distinct stems, plus the placeholder tags that occur."""
        return self.by_key.keys()

    def positions(self, key: str) -> list[int]:
        """Positions of a stem (as returned by `stem`), of a placeholder, or of every word starting with a prefix (`key*`)."""
        if key[-1] == "*":
            found = self._prefixed.get(key)
            if found is None:
                starting = self._prefix_words.get(key)
                found = self._prefixed[key] = self._prefix_positions(key[:-1]) if starting is None else self._positions_of_words(starting)
            return found
        return self.by_key.get(key, [])

    def _positions_of_words(self, starting: list[str]) -> list[int]:
        positions = [p for word in starting for p in self.by_key[stem(word)] if self.words[p] == word]
        return positions if len(starting) == 1 else sorted(positions)

    def _prefix_positions(self, prefix: str) -> list[int]:
        if self._sorted_words is None:
            self._sorted_words = sorted(self.vocabulary)
        words = self._sorted_words
        i = bisect_left(words, prefix)
        found: list[int] = []
        while i < len(words) and words[i].startswith(prefix):
            word = words[i]
            found += [p for p in self.positions(stem(word)) if self.words[p] == word]
            i += 1
        found.sort()
        return found


def _number_tag(prev: str, nxt: str, after: str) -> str | None:
    if nxt in _UNIT_QUALIFIERS:
        nxt = after
    if prev in _CURRENCY or nxt in _MONEY_UNITS:
        return "{money}"
    if nxt in _PERCENT_WORDS:
        return "{pct}"
    if nxt in _TIME_UNITS:
        return "{time}"
    return None


def analyse(raw: str) -> Text:
    """Split `raw` into segments, tokenise each into stems, and sort positions by stem.

    The per-token work is done by C-level calls (findall, map, sort, set) so
    that the Python-level work grows with the segments, not the words: this runs
    on every check a learner makes.
    """
    normal, lowered = _normalised(raw)
    words: list[str] = []
    segment_of: list[int] = []
    segments: list[Segment] = []
    start = 0
    for end, resume in _cuts(normal):
        chunk_words = _WORD.findall(lowered, start, end) if end > start else None  # role labels leave many empty
        if chunk_words:
            chunk = raw[start:end]
            left = start + len(chunk) - len(chunk.lstrip())
            right = start + len(chunk.rstrip())
            index = len(segments)
            segments.append(Segment(index, len(words), len(words) + len(chunk_words), raw[left:right], left, right))
            words += chunk_words
            segment_of += [index] * len(chunk_words)
        start = resume
    keys = list(map(stem, words))
    by_key: dict[str, list[int]] = {}
    for position, key in enumerate(keys):
        by_key.setdefault(key, []).append(position)
    text = Text(raw, lowered, keys, words, segment_of, segments, set(words), by_key)
    _tag_numbers(text)
    return text


def _normalised(raw: str) -> tuple[str, str]:
    """`raw` with curly apostrophes made straight, and that lowercased, both of the length of `raw`."""
    normal = raw.replace("\u2019", "'")  # curly apostrophes: same length, so offsets still hold
    lowered = normal.lower()
    if len(lowered) != len(normal):  # a few characters change length when lowercased
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in normal)
    return normal, lowered


def stems(raw: str) -> list[str]:
    """`analyse(raw).keys`, without the segments: the stems of the text in order, for text that is only
    counted or compared (the scenario's own text, when a rubric is compiled). No character a boundary
    consumes can be part of a word, so the words of the whole text are those of its segments, in order."""
    return list(map(stem, _WORD.findall(_normalised(raw)[1])))


def _cuts(text: str) -> list[tuple[int, int]]:
    """(end of segment, start of the next) for every boundary, then the end of the text."""
    cuts = list(map(re.Match.span, _BOUNDARY.finditer(text)))
    cuts.append((len(text), len(text)))
    return cuts


def _tag_numbers(text: Text) -> None:
    """Tag every number (digits or a number word) as {num}, and as {money}, {pct} or {time} when its neighbours say so."""
    number_words = NUMBER_WORDS.intersection(text.by_key)
    if not number_words and not _HAS_DIGIT(text.lowered):
        return
    numbers = sorted(chain.from_iterable(
        positions for key, positions in text.by_key.items() if key[0] in _ASCII_DIGITS or key in number_words
    ))
    if not numbers:
        return
    words, tags = text.words, text.by_key
    tags["{num}"] = numbers
    count = len(words)
    for position in numbers:
        prev = words[position - 1] if position else ""
        nxt = words[position + 1] if position + 1 < count else ""
        after = words[position + 2] if position + 2 < count else ""
        tag = "{pct}" if words[position] in _SHARE_WORDS else _number_tag(prev, nxt, after)
        if tag:
            tags.setdefault(tag, []).append(position)


# --- patterns -------------------------------------------------------------------


# Patterns are interned by `compile_pattern`, so identity is equality: hashing by
# id keeps dictionary look-ups keyed by pattern cheap in the scoring loop.
@dataclass(frozen=True, eq=False)
class Alternative:
    keys: tuple[str, ...]  # consecutive stems; a key ending in "*" is a prefix


@dataclass(frozen=True, eq=False)
class Pattern:
    source: str
    terms: tuple[tuple[Alternative, ...], ...]


def _compile_word(word: str, source: str) -> str:
    if word in _PLACEHOLDERS:
        return word
    if word.startswith("{"):
        raise PatternError(f"unknown placeholder {word!r} in pattern {source!r} (use {{num}}, {{pct}}, {{money}} or {{time}})")
    prefix = word.endswith("*")
    core = word.rstrip("*")
    if not re.fullmatch(r"[a-z0-9]+(?:'[a-z]+)?|[%$€£]", core):
        raise PatternError(f"bad word {word!r} in pattern {source!r} (letters, digits, %, $, a trailing * or a {{placeholder}})")
    if prefix:
        if len(core) < 3:
            raise PatternError(f"prefix {word!r} in pattern {source!r} is too short (at least 3 letters before *)")
        return core + "*"  # prefixes match words as written, not stems
    return core if core[0].isdigit() or core in _CURRENCY or core == "%" else stem(core)


@lru_cache(maxsize=None)
def compile_pattern(source: str) -> Pattern:
    """Parse one pattern string; raise PatternError naming the pattern if it is malformed."""
    terms = []
    for raw_term in source.lower().split("~"):
        alternatives = []
        for raw_alt in raw_term.split("|"):
            words = re.sub(r"([%$€£])", r" \1 ", raw_alt).replace("-", " ").replace("/", " ").split()
            if not words:
                raise PatternError(f"empty alternative in pattern {source!r}")
            alternatives.append(Alternative(tuple(_compile_word(w, source) for w in words)))
        terms.append(tuple(alternatives))
    if not terms:
        raise PatternError(f"empty pattern {source!r}")
    return Pattern(source, tuple(terms))


Span = tuple[int, int]  # where one alternative occurs: first token position, one past the last


def _alternative_spans(text: Text, alternative: Alternative) -> list[Span]:
    spans = text._spans.get(alternative)
    if spans is None:
        spans = text._spans[alternative] = _find_alternative(text, alternative)
    return spans


def _find_alternative(text: Text, alternative: Alternative) -> list[Span]:
    first, *rest = alternative.keys
    starts = text.positions(first)
    if not rest or not starts:
        return [(p, p + 1) for p in starts]
    if len(starts) > PLAUSIBLE_FROM:
        starts = _plausible_starts(text, alternative.keys, starts)
    # Words of one alternative follow each other; a pronoun may sit between
    # them, so "switch off" also finds "switch it off".
    spans = []
    words, count = text.words, len(text.words)
    for start in starts:
        position = start
        for key in rest:
            following = position + 1
            if following < count and _is_at(text, following, key):
                position = following
            elif following + 1 < count and words[following] in GAP_WORDS and _is_at(text, following + 1, key):
                position = following + 1
            else:
                break
        else:
            spans.append((start, position + 1))
    return spans


def _plausible_starts(text: Text, keys: tuple[str, ...], starts: list[int]) -> list[int]:
    """The starts from which the phrase could reach its rarest later word, which then stands j to 2j
    tokens on (j words later, each one perhaps after a pronoun): "the model" is looked for from the
    few places "model" occurs, not from every "the"."""
    counts = [len(text.positions(key)) for key in keys[1:]]
    j = 1 + counts.index(min(counts))
    rare = text.positions(keys[j])
    if len(rare) * (j + 1) >= len(starts):
        return starts
    return sorted({q - d for q in rare for d in range(j, 2 * j + 1)}.intersection(starts))


def _is_at(text: Text, position: int, key: str) -> bool:
    """Does the token at `position` match one word of a pattern (stem, prefix or placeholder)?"""
    if key[0] == "{":
        return position in text.positions(key)
    if key[-1] == "*":
        return text.words[position].startswith(key[:-1])
    return text.keys[position] == key


def _term_spans(text: Text, term: tuple[Alternative, ...]) -> list[Span]:
    return sorted({span for alternative in term for span in _alternative_spans(text, alternative)})


def _near(text: Text, spans: list[Span], start: int, end: int, segment: int) -> Span | None:
    """The first of `spans` that starts within WINDOW tokens of start..end, in the same segment."""
    i = bisect_left(spans, (start - WINDOW,))
    limit = end + WINDOW + 1
    while i < len(spans) and spans[i][0] < limit:
        if text.segment_of[spans[i][0]] == segment:
            return spans[i]
        i += 1
    return None


def _segments_where_near(text: Text, term_spans: list[list[Span]]) -> dict[int, Span]:
    """Segment index -> the tokens the match covers: the first span of the rarest term that has every
    other term near it, widened to those terms' spans."""
    anchor, *others = sorted(term_spans, key=len)
    segments: dict[int, Span] = {}
    for start, end in anchor:
        segment = text.segment_of[start]
        if segment in segments:
            continue
        first, last = start, end
        for spans in others:
            near = _near(text, spans, start, end, segment)
            if near is None:
                break
            first, last = min(first, near[0]), max(last, near[1])
        else:
            segments[segment] = (first, last)
    return segments


def find(text: Text, pattern: Pattern) -> list[int]:
    """Indexes of the segments in which every term of `pattern` occurs close together."""
    return list(find_spans(text, pattern))


def find_spans(text: Text, pattern: Pattern) -> dict[int, Span]:
    """As `find`, with the span of the match in each segment."""
    term_spans = []
    for term in pattern.terms:
        spans = _term_spans(text, term)
        if not spans:
            return {}
        term_spans.append(spans)
    return _segments_where_near(text, term_spans)


def term_spans(text: Text, pattern: Pattern, span: Span) -> list[Span]:
    """Where each of `pattern`'s terms occurs inside a match `span` (a match is widened to cover them all)."""
    found = []
    for term in pattern.terms:
        spans = _term_spans(text, term)
        i = bisect_left(spans, (span[0],))
        while i < len(spans) and spans[i][0] < span[1]:
            found.append(spans[i])
            i += 1
    return found


class Prefixes:
    """The word prefixes (`escalat*`) some pattern sets look for, and which of them the words of a text
    start with. Sets that search the same texts share one (`share_prefixes`), so that each text's first
    words are found once, not once per set."""

    def __init__(self, prefixes: Iterable[str]):
        self.prefixes = frozenset(prefixes)
        self._lengths = sorted({len(prefix) for prefix in self.prefixes})
        self._memo: dict[str, tuple[str, ...]] = {}  # word -> the prefixes (as `prefix*`) it starts with

    def firsts(self, text: Text) -> set[str]:
        """The text's stems and tags, and the prefixes (as `prefix*`) that its words start with, whose
        positions are then stored in the text. Found once per text for this table."""
        key = ("firsts", self)
        found = text.memo.get(key)
        if found is None:
            found = text.memo[key] = text.keyset | self._keys(text)
        return found

    def _of_words(self, vocabulary: set[str]) -> set[str]:
        """The prefixes that words of the vocabulary start with, remembered per word (vocabularies repeat
        from one text to the next; the memory is bounded)."""
        memo, prefixes, lengths = self._memo, self.prefixes, self._lengths
        new = vocabulary.difference(memo)  # not `vocabulary - memo.keys()`, which walks the whole memo
        if new:
            if len(memo) > PREFIX_MEMO_WORDS:
                memo.clear()
                new = vocabulary
            for word in new:
                memo[word] = tuple(word[:n] + "*" for n in lengths if n <= len(word) and word[:n] in prefixes)
        return set(chain.from_iterable(map(memo.__getitem__, vocabulary)))

    def _keys(self, text: Text) -> set[str]:
        """As `_of_words`, noting in the text which of its words start with each prefix: the memory knows
        them, so the positions of a prefix a search does look up need no walk of the sorted vocabulary."""
        found = self._of_words(text.vocabulary)
        if found:
            memo, words_of = self._memo, {}
            for word in filter(memo.__getitem__, text.vocabulary):
                for key in memo[word]:
                    words_of.setdefault(key, []).append(word)
            for key, starting in words_of.items():  # another table may have noted a prefix already: the same words
                text._prefix_words.setdefault(key, starting)
        return found


def share_prefixes(sets: Iterable[PatternSet]) -> None:
    """Give pattern sets that search the same texts one prefix table, the union of theirs. A set then sees
    prefixes it does not use among a text's first words, which its look-ups ignore."""
    sets = list(sets)
    table = Prefixes(frozenset().union(*(pattern_set.prefixes.prefixes for pattern_set in sets)))
    for pattern_set in sets:
        pattern_set.prefixes = table


class PatternSet:
    """Many patterns run over one text at the cost of the text, not of the pattern count.

    Patterns are numbered, and so are their terms. Each term's alternatives are
    indexed by their first word (a stem, a placeholder or a `prefix*`), so
    finding the terms present in a text is mostly C-level set work; only the
    patterns whose every term is present are then placed in the text.
    """

    def __init__(self, patterns: Iterable[Pattern]):
        self.patterns = tuple(dict.fromkeys(patterns))
        term_ids: dict[tuple[Alternative, ...], int] = {}
        self._pattern_terms: list[tuple[int, ...]] = []
        for pattern in self.patterns:
            ids = tuple(dict.fromkeys(term_ids.setdefault(term, len(term_ids)) for term in pattern.terms))
            self._pattern_terms.append(ids)
        self._term_sets = [frozenset(ids) for ids in self._pattern_terms]
        patterns_of_term: list[list[int]] = [[] for _ in term_ids]
        for pattern_id, ids in enumerate(self._pattern_terms):
            for term_id in ids:
                patterns_of_term[term_id].append(pattern_id)
        self._patterns_of_term = [tuple(ids) for ids in patterns_of_term]
        self._terms = [_indexed_term(term) for term in term_ids]
        single_terms: dict[str, set[int]] = {}  # one-word alternative -> terms
        self._phrases: dict[str, list[_PhraseEntry]] = {}  # phrases by first word
        for term_id, term in enumerate(self._terms):
            for key in term.singles:
                single_terms.setdefault(key, set()).add(term_id)
            for first, entries in term.phrases_by_first.items():
                self._phrases.setdefault(first, []).extend((alternative, term_id, required) for alternative, required in entries)
        self._single_terms = {key: tuple(ids) for key, ids in single_terms.items()}
        self.prefixes = Prefixes(key[:-1] for key in self._single_terms.keys() | self._phrases.keys() if key[-1] == "*")

    def search(self, text: Text, only: frozenset[Pattern] | set[Pattern] | None = None) -> dict[Pattern, dict[int, Span]]:
        """For every pattern that matches somewhere (of `only`, when given): the segments where it matches,
        each with the match's span."""
        firsts = self.prefixes.firsts(text)
        present = self._present_terms(text, firsts)
        candidates = sorted(set(chain.from_iterable(map(self._patterns_of_term.__getitem__, present))))
        if only is not None:
            candidates = list(compress(candidates, map(only.__contains__, map(self.patterns.__getitem__, candidates))))
        complete = compress(candidates, map(present.issuperset, map(self._term_sets.__getitem__, candidates)))
        spans_of_term: dict[int, list[int]] = {}
        found: dict[Pattern, dict[int, Span]] = {}
        for pattern_id in complete:
            term_spans = []
            for term_id in self._pattern_terms[pattern_id]:
                spans = spans_of_term.get(term_id)
                if spans is None:
                    spans = spans_of_term[term_id] = self._terms[term_id].spans(text, firsts)
                term_spans.append(spans)
            segments = _segments_where_near(text, term_spans)
            if segments:
                found[self.patterns[pattern_id]] = segments
        return found

    def _present_terms(self, text: Text, firsts: set[str]) -> set[int]:
        """The terms that occur somewhere in a text whose first words (stems, tags, `prefix*`) are `firsts`."""
        singles, phrases = self._single_terms, self._phrases
        present = set(chain.from_iterable(map(singles.__getitem__, singles.keys() & firsts)))
        entries = list(chain.from_iterable(map(phrases.__getitem__, phrases.keys() & firsts)))
        # Most phrases whose first word occurs lack another word: drop them without a Python-level loop.
        for alternative, term_id, required in compress(entries, map(firsts.issuperset, map(_required_words, entries))):
            if term_id not in present and _alternative_spans(text, alternative):
                present.add(term_id)
        return present


_PhraseEntry = tuple[Alternative, int, frozenset[str]]  # a phrase, its term, the words it needs


@lru_cache(maxsize=None)
def _indexed_term(term: tuple[Alternative, ...]) -> _IndexedTerm:
    """One index per distinct term: every step's set holds the same anti-patterns and concepts."""
    return _IndexedTerm.of(term)
_required_words = itemgetter(2)


@dataclass(frozen=True)
class _IndexedTerm:
    singles: frozenset[str]  # one-word alternatives: stems, placeholders and `prefix*`
    # Longer alternatives, with the stems they need, by first word.
    phrases_by_first: dict[str, tuple[tuple[Alternative, frozenset[str]], ...]]

    @classmethod
    def of(cls, term: tuple[Alternative, ...]) -> _IndexedTerm:
        singles = frozenset(a.keys[0] for a in term if len(a.keys) == 1)
        by_first: dict[str, list[tuple[Alternative, frozenset[str]]]] = {}
        for alternative in (a for a in term if len(a.keys) > 1):
            required = frozenset(k for k in alternative.keys if k[-1] != "*")
            by_first.setdefault(alternative.keys[0], []).append((alternative, required))
        return cls(singles, {first: tuple(entries) for first, entries in by_first.items()})

    def spans(self, text: Text, firsts: set[str]) -> list[Span]:
        """Where the term occurs; `firsts` are the text's first words, as for the search."""
        positions = text.positions
        spans = {(p, p + 1) for key in self.singles & firsts for p in positions(key)}
        by_first = self.phrases_by_first
        for first in by_first.keys() & firsts:
            for alternative, required in by_first[first]:
                if required <= firsts:
                    spans.update(_alternative_spans(text, alternative))
        return sorted(spans)
