"""The built-in vocabulary of the offline scorer: named concepts and global anti-patterns.

Both live as YAML beside the package (`workbook/data/`) so they can be read and
extended without touching code; this module loads and compiles them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from .matching import Alternative, Pattern, compile_pattern
from .steps import STEP_IDS


@dataclass(frozen=True)
class Concept:
    id: str
    description: str
    step: str
    patterns: tuple[Pattern, ...]


@dataclass(frozen=True, eq=False)  # compared by identity: each is built once per scenario
class AntiPattern:
    id: str
    title: str
    patterns: tuple[Pattern, ...]
    better: str
    steps: frozenset[str]
    penalty: float
    source: str  # "global" or the scenario id


def _read_data(name: str):
    text = resources.files("workbook").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loader


@lru_cache(maxsize=1)
def _concept_specs() -> dict[str, dict]:
    return _read_data("concepts.yaml")


@lru_cache(maxsize=1)
def _thesaurus() -> dict[tuple[str, ...], tuple[Alternative, ...]]:
    """Alternative (by its words) -> every alternative of its group, from data/thesaurus.yaml."""
    index: dict[tuple[str, ...], dict[tuple[str, ...], Alternative]] = {}
    for group in _read_data("thesaurus.yaml"):
        (members,) = compile_pattern(group).terms
        for member in members:
            index.setdefault(member.keys, {}).update((m.keys, m) for m in members)
    return {keys: tuple(group.values()) for keys, group in index.items()}


@lru_cache(maxsize=None)
def compile_evidence(source: str) -> Pattern:
    """An evidence pattern with the everyday wordings of its terms added (one object per source)."""
    pattern = compile_pattern(source)
    thesaurus = _thesaurus()
    terms = []
    for term in pattern.terms:
        widened = {alternative.keys: alternative for alternative in term}
        for alternative in term:
            for synonym in thesaurus.get(alternative.keys, ()):
                widened.setdefault(synonym.keys, synonym)
        terms.append(tuple(widened.values()))
    return Pattern(source, tuple(terms))


@lru_cache(maxsize=1)
def concepts() -> dict[str, Concept]:
    return {
        concept_id: Concept(concept_id, spec["description"], spec["step"], tuple(compile_evidence(p) for p in spec["patterns"]))
        for concept_id, spec in _concept_specs().items()
    }


def step_concepts(step_id: str) -> list[Concept]:
    return [concept for concept in concepts().values() if concept.step == step_id]


@lru_cache(maxsize=1)
def design_vocabulary() -> frozenset[str]:
    """Every word stem the built-in concepts and anti-patterns use: the field's vocabulary, shared by all scenarios."""
    patterns = [p for c in concepts().values() for p in c.patterns] + [p for a in global_anti_patterns() for p in a.patterns]
    return frozenset(k for p in patterns for term in p.terms for a in term for k in a.keys if k.isalpha())


def concept_ids() -> frozenset[str]:
    return frozenset(_concept_specs())  # validating a scenario needs the names, not compiled patterns


def make_anti_pattern(spec: dict, source: str) -> AntiPattern:
    return AntiPattern(
        id=spec["id"],
        title=spec["title"],
        patterns=tuple(compile_pattern(p) for p in spec["patterns"]),
        better=spec["better"],
        steps=frozenset(spec.get("steps") or STEP_IDS),
        penalty=float(spec.get("penalty", 15.0)),
        source=source,
    )


@lru_cache(maxsize=1)
def global_anti_patterns() -> tuple[AntiPattern, ...]:
    return tuple(make_anti_pattern(spec, "global") for spec in _read_data("anti_patterns.yaml"))


def expand(evidence: list[str] | tuple[str, ...]) -> tuple[Pattern, ...]:
    """Turn an evidence list (patterns and @concept references) into compiled patterns."""
    table = concepts()
    patterns: list[Pattern] = []
    for item in evidence:
        if item.startswith("@"):
            patterns += table[item[1:]].patterns
        else:
            patterns.append(compile_evidence(item))
    return tuple(patterns)
