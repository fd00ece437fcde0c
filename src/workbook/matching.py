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
tokenise, then dictionary and bisect look-ups. No backtracking patterns.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

WINDOW = 12  # how many tokens may separate the terms of one pattern
GAP_WORDS = frozenset("it them this that these those everything all him her us one".split())

# Segment boundaries: sentence punctuation, a blank line, or a line break before
# something that starts a new line of thought (capital, digit, bullet). A break
# before a lowercase word is a hard-wrapped sentence and does not split it.
_BOUNDARY = re.compile(r"[.!?;]+(?=\s|$)|\n[ \t]*(?:\n|[-*•#>]|(?=[A-Z0-9]))")
_ABBREVIATIONS = ("e.g", "i.e", "E.g", "I.e", "etc", "vs")  # a full stop after these ends nothing
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


class PatternError(ValueError):
    pass


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


@dataclass
class Text:
    """A tokenised text: stems by position, an index from key to positions, segments."""

    raw: str
    keys: list[str] = field(default_factory=list)  # stems by position
    words: list[str] = field(default_factory=list)  # lowercased words by position
    index: dict[str, list[int]] = field(default_factory=dict)  # stem or {placeholder} -> positions
    vocabulary: set[str] = field(default_factory=set)  # the distinct words, as written (for prefixes)
    segment_of: list[int] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    # Look-ups repeat across the many patterns run over one text, so keep them.
    _positions: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _spans: dict[tuple[str, ...], list[tuple[int, int]]] = field(default_factory=dict, repr=False)
    _sorted_keys: list[str] | None = field(default=None, repr=False)

    def positions(self, key: str) -> list[int]:
        """Positions of a stem, or of every stem starting with a prefix (`key*`)."""
        if not key.endswith("*"):
            return self.index.get(key, [])
        found = self._positions.get(key)
        if found is None:
            found = self._prefix_positions(key[:-1])
            self._positions[key] = found
        return found

    def _prefix_positions(self, prefix: str) -> list[int]:
        if self._sorted_keys is None:
            self._sorted_keys = sorted(self.vocabulary)
        keys = self._sorted_keys
        i = bisect_left(keys, prefix)
        found: list[int] = []
        while i < len(keys) and keys[i].startswith(prefix):
            word = keys[i]
            found += [p for p in self.index.get(stem(word), ()) if self.words[p] == word]
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
    """Split `raw` into segments, tokenise each into stems, and index every key.

    The per-token work is done by C-level calls (findall, map, list repetition)
    where it can be: this runs on every keystroke-triggered check.
    """
    text = Text(raw)
    normal = raw.replace("\u2019", "'")  # curly apostrophes: same length, so offsets still hold
    lowered = normal.lower()
    if len(lowered) != len(normal):  # a few characters change length when lowercased
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in normal)
    words: list[str] = []
    segment_of: list[int] = []
    start = 0
    for end, resume in _cuts(normal):
        chunk_words = _WORD.findall(lowered, start, end)
        if chunk_words:
            chunk = raw[start:end]
            left = start + len(chunk) - len(chunk.lstrip())
            right = start + len(chunk.rstrip())
            index = len(text.segments)
            text.segments.append(Segment(index, len(words), len(words) + len(chunk_words), raw[left:right], left, right))
            words += chunk_words
            segment_of += [index] * len(chunk_words)
        start = resume
    text.words, text.segment_of = words, segment_of
    text.keys = keys = list(map(stem, words))
    index: defaultdict[str, list[int]] = defaultdict(list)
    for position, key in enumerate(keys):
        index[key].append(position)
    text.index = index
    text.vocabulary = set(words)
    _tag_numbers(text)
    return text


def _cuts(text: str) -> list[tuple[int, int]]:
    """(end of segment, start of the next) for every boundary, then the end of the text."""
    cuts = [
        (match.start(), match.end())
        for match in _BOUNDARY.finditer(text)
        if not (text[match.start()] == "." and text[max(0, match.start() - 3) : match.start()].endswith(_ABBREVIATIONS))
    ]
    cuts.append((len(text), len(text)))
    return cuts


def _tag_numbers(text: Text) -> None:
    words, index = text.words, text.index
    count = len(words)
    numbers = sorted(p for key, positions in index.items() if "0" <= key[0] <= "9" for p in positions)
    if numbers:
        index["{num}"] = numbers
    for position in numbers:
        prev = words[position - 1] if position else ""
        nxt = words[position + 1] if position + 1 < count else ""
        after = words[position + 2] if position + 2 < count else ""
        tag = _number_tag(prev, nxt, after)
        if tag:
            index.setdefault(tag, []).append(position)


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


def _alternative_spans(text: Text, alternative: Alternative) -> list[tuple[int, int]]:
    cached = text._spans.get(alternative.keys)
    if cached is None:
        cached = text._spans[alternative.keys] = _find_alternative(text, alternative.keys)
    return cached


def _find_alternative(text: Text, keys: tuple[str, ...]) -> list[tuple[int, int]]:
    first, *rest = keys
    starts = text.positions(first)
    if not rest or not starts:
        return [(p, p + 1) for p in starts]
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


def _is_at(text: Text, position: int, key: str) -> bool:
    """Does the token at `position` match one word of a pattern (stem, prefix or placeholder)?"""
    if key[0] == "{":
        return position in text.positions(key)
    if key[-1] == "*":
        return text.words[position].startswith(key[:-1])
    return text.keys[position] == key


def _term_spans(text: Text, term: tuple[Alternative, ...]) -> list[tuple[int, int]]:
    return sorted(span for alternative in term for span in _alternative_spans(text, alternative))


def _near(text: Text, spans: list[tuple[int, int]], start: int, end: int, segment: int) -> bool:
    i = bisect_left(spans, (start - WINDOW, -1))
    while i < len(spans) and spans[i][0] <= end + WINDOW:
        if text.segment_of[spans[i][0]] == segment:
            return True
        i += 1
    return False


def _segments_where_near(text: Text, term_spans: list[list[tuple[int, int]]]) -> list[int]:
    anchor, *others = sorted(term_spans, key=len)
    segments: list[int] = []
    for start, end in anchor:
        segment = text.segment_of[start]
        if segments and segments[-1] == segment:
            continue
        if all(_near(text, spans, start, end, segment) for spans in others):
            segments.append(segment)
    return segments


def find(text: Text, pattern: Pattern) -> list[int]:
    """Indexes of the segments in which every term of `pattern` occurs close together."""
    term_spans = []
    for term in pattern.terms:
        spans = _term_spans(text, term)
        if not spans:
            return []
        term_spans.append(spans)
    return _segments_where_near(text, term_spans)


class PatternSet:
    """Many patterns run over one text at the cost of the text, not of the pattern count.

    An inverted index from each alternative's first stem (or prefix) to the terms
    that use it means only the alternatives whose first word occurs in the text
    are looked at, and only patterns whose every term occurred are checked.
    Terms and patterns are numbered so the hot loop hashes small integers.
    """

    def __init__(self, patterns: Iterable[Pattern]):
        self.patterns = tuple(dict.fromkeys(patterns))
        term_ids: dict[tuple, int] = {}
        self._terms: list[tuple[Alternative, ...]] = []
        self._pattern_terms: list[tuple[int, ...]] = []
        self._patterns_of_term: list[list[int]] = []
        for pattern_id, pattern in enumerate(self.patterns):
            ids = []
            for term in pattern.terms:
                if term not in term_ids:
                    term_ids[term] = len(self._terms)
                    self._terms.append(term)
                    self._patterns_of_term.append([])
                ids.append(term_ids[term])
            self._pattern_terms.append(tuple(dict.fromkeys(ids)))
            for term_id in dict.fromkeys(ids):
                self._patterns_of_term[term_id].append(pattern_id)
        self._by_exact: dict[str, list[tuple[Alternative, int]]] = {}
        self._by_prefix: dict[str, list[tuple[Alternative, int]]] = {}
        for term_id, term in enumerate(self._terms):
            for alternative in term:
                first = alternative.keys[0]
                table = self._by_prefix if first.endswith("*") else self._by_exact
                table.setdefault(first.rstrip("*"), []).append((alternative, term_id))
        self._prefix_lengths = sorted({len(prefix) for prefix in self._by_prefix})
        self._prefixed: dict[str, tuple[tuple[Alternative, int], ...]] = {}

    def _present_alternatives(self, text: Text) -> dict[int, list[Alternative]]:
        """The alternatives that occur in the text, by term id (spans are found later, if needed)."""
        entries: list[tuple[Alternative, int]] = []
        by_exact = self._by_exact
        for key in by_exact.keys() & text.index.keys():
            entries += by_exact[key]
        prefixed = self._prefixed
        for word in text.vocabulary:
            found = prefixed.get(word)
            if found is None:
                found = prefixed[word] = self._prefix_entries(word)
            entries += found
        present: dict[int, dict[Alternative, None]] = {}
        index = text.index
        for alternative, term_id in entries:
            keys = alternative.keys
            if len(keys) == 1 or (
                all(key in index for key in keys if key[-1] != "*") and _alternative_spans(text, alternative)
            ):
                present.setdefault(term_id, {})[alternative] = None
        return {term_id: list(alternatives) for term_id, alternatives in present.items()}

    def _prefix_entries(self, word: str) -> tuple[tuple[Alternative, int], ...]:
        """Alternatives whose first word is a prefix of `word` (remembered: vocabularies repeat)."""
        if len(self._prefixed) > 100_000:
            self._prefixed.clear()
        entries: list[tuple[Alternative, int]] = []
        for length in self._prefix_lengths:
            if length > len(word):
                break
            entries += self._by_prefix.get(word[:length], ())
        return tuple(entries)

    def search(self, text: Text) -> dict[Pattern, list[int]]:
        """For every pattern that matches somewhere: the segments where it matches."""
        present = self._present_alternatives(text)
        candidates: set[int] = set()
        for term_id in present:
            candidates.update(self._patterns_of_term[term_id])
        spans_of_term: dict[int, list[tuple[int, int]]] = {}
        found: dict[Pattern, list[int]] = {}
        for pattern_id in candidates:
            term_ids = self._pattern_terms[pattern_id]
            if not all(term_id in present for term_id in term_ids):
                continue
            for term_id in term_ids:
                if term_id not in spans_of_term:
                    spans_of_term[term_id] = sorted(
                        span for alternative in present[term_id] for span in _alternative_spans(text, alternative)
                    )
            segments = _segments_where_near(text, [spans_of_term[term_id] for term_id in term_ids])
            if segments:
                found[self.patterns[pattern_id]] = segments
        return found
