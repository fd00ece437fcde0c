"""Evidence patterns: how the offline scorer recognises an idea in free text.

Learners paraphrase, so patterns match *stems near each other*, not exact strings.

Pattern syntax (used in scenario files and the built-in lexicons):

- A pattern is one or more **terms** joined by `~`: every term must occur in the
  same sentence, within a few words of each other, in any order.
  `roll back|revert|switch off ~ error rate|failure rate`
- A term lists **alternatives** separated by `|`. An alternative is one or more
  words that must appear together, in that order, at most one word apart:
  `switch off` also finds "switch it off".
- Words are compared by stem, so `release` matches releases, released, releasing.
  A trailing `*` matches any word starting with the prefix: `escalat*`.
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
from dataclasses import dataclass, field
from functools import lru_cache

WINDOW = 12  # how many tokens may separate the terms of one pattern

# Segment boundaries: sentence punctuation, a blank line, or a line break before
# something that starts a new line of thought (capital, digit, bullet). A break
# before a lowercase word is a hard-wrapped sentence and does not split it.
_TOKEN = re.compile(
    r"\d+(?:[.,]\d+)*|[A-Za-z]+(?:'[A-Za-z]+)?|[%$€£]"
    r"|\n[ \t]*(?:\n|[-*•#>]|(?=[A-Z0-9]))|[.!?;]+(?=\s|$)"
)
_TIME_UNITS = frozenset(
    "ms millisecond msec s sec second secs m min mins minute h hr hrs hour day d week wk month year".split()
)
_MONEY_UNITS = frozenset("dollar usd cent eur euro gbp pound buck".split())
_PERCENT_WORDS = frozenset({"%", "percent", "pct", "percentage"})
_CURRENCY = frozenset("$€£")
_PLACEHOLDERS = frozenset({"{num}", "{pct}", "{money}", "{time}"})


class PatternError(ValueError):
    pass


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A small, consistent suffix stripper (both patterns and text go through it).

    It does not need to produce dictionary words; it only needs to map the usual
    inflections of one word to the same key, cheaply.
    """
    w = word.lower().replace("'s", "").replace("'", "")
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


# --- text ---------------------------------------------------------------------


@dataclass
class Segment:
    """A sentence, bullet or line: the unit that quotes and credit are given for."""

    index: int
    start: int  # first token position
    end: int  # one past the last token position
    text: str  # the original characters, for quoting


@dataclass
class Text:
    """A tokenised text: stems by position, an index from key to positions, segments."""

    raw: str
    keys: list[str] = field(default_factory=list)
    index: dict[str, list[int]] = field(default_factory=dict)
    segment_of: list[int] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    def positions(self, key: str) -> list[int]:
        return self.index.get(key, [])


def _number_tag(prev: str, nxt: str) -> str | None:
    if prev in _CURRENCY or nxt in _MONEY_UNITS or nxt == "k" and prev in _CURRENCY:
        return "{money}"
    if nxt in _PERCENT_WORDS:
        return "{pct}"
    if nxt in _TIME_UNITS:
        return "{time}"
    return None


def analyse(raw: str) -> Text:
    """Tokenise `raw` into stems, split it into segments, and index every key."""
    text = Text(raw)
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    boundaries: list[int] = []  # token positions where a new segment starts
    for match in _TOKEN.finditer(raw):
        token = match.group()
        first = token[0]
        if first in ".!?;\n":
            boundaries.append(len(words))
            continue
        words.append(token.lower())
        spans.append(match.span())
    text.keys = [w if w[0].isdigit() or w in _CURRENCY or w == "%" else stem(w) for w in words]
    index = text.index
    for position, key in enumerate(text.keys):
        index.setdefault(key, []).append(position)
    for position, word in enumerate(words):
        if word[0].isdigit():
            index.setdefault("{num}", []).append(position)
            prev = words[position - 1] if position else ""
            nxt = text.keys[position + 1] if position + 1 < len(words) else ""
            tag = _number_tag(prev, nxt)
            if tag:
                index.setdefault(tag, []).append(position)
    _split_segments(text, spans, boundaries)
    return text


def _split_segments(text: Text, spans: list[tuple[int, int]], boundaries: list[int]) -> None:
    starts = sorted({0, *boundaries})
    count = len(text.keys)
    segment_of = [0] * count
    for start, end in zip(starts, starts[1:] + [count]):
        if start >= end:
            continue
        segment = Segment(len(text.segments), start, end, text.raw[spans[start][0] : spans[end - 1][1]])
        text.segments.append(segment)
        for position in range(start, end):
            segment_of[position] = segment.index
    text.segment_of = segment_of


# --- patterns -------------------------------------------------------------------


@dataclass(frozen=True)
class Alternative:
    keys: tuple[str, ...]  # consecutive stems; a key ending in "*" is a prefix


@dataclass(frozen=True)
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
        stemmed = stem(core)
        return (stemmed if len(stemmed) >= 3 else core) + "*"
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


def _key_positions(text: Text, key: str) -> list[int]:
    if not key.endswith("*"):
        return text.positions(key)
    prefix = key[:-1]
    found: list[int] = []
    for candidate, positions in text.index.items():
        if candidate.startswith(prefix):
            found += positions
    found.sort()
    return found


def _alternative_spans(text: Text, alternative: Alternative) -> list[tuple[int, int]]:
    first, *rest = alternative.keys
    starts = _key_positions(text, first)
    if not rest or not starts:
        return [(p, p + 1) for p in starts]
    # Words of one alternative follow each other, with at most one word between
    # them, so "switch off" also finds "switch it off".
    spans = []
    follow = [set(_key_positions(text, key)) for key in rest]
    for start in starts:
        position = start
        for positions in follow:
            if position + 1 in positions:
                position += 1
            elif position + 2 in positions:
                position += 2
            else:
                break
        else:
            spans.append((start, position + 1))
    return spans


def _term_spans(text: Text, term: tuple[Alternative, ...]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for alternative in term:
        spans += _alternative_spans(text, alternative)
    spans.sort()
    return spans


def _near(text: Text, spans: list[tuple[int, int]], start: int, end: int, segment: int) -> bool:
    i = bisect_left(spans, (start - WINDOW, -1))
    while i < len(spans) and spans[i][0] <= end + WINDOW:
        if text.segment_of[spans[i][0]] == segment:
            return True
        i += 1
    return False


def find(text: Text, pattern: Pattern) -> list[int]:
    """Indexes of the segments in which every term of `pattern` occurs close together."""
    term_spans = []
    for term in pattern.terms:
        spans = _term_spans(text, term)
        if not spans:
            return []
        term_spans.append(spans)
    anchor, *others = sorted(term_spans, key=len)
    segments: list[int] = []
    for start, end in anchor:
        segment = text.segment_of[start]
        if segments and segments[-1] == segment:
            continue
        if all(_near(text, spans, start, end, segment) for spans in others):
            segments.append(segment)
    return segments
