"""Scenario files: the YAML format, its schema, and finding and loading them.

A scenario is one human-editable YAML file in an exercises folder. Loading never
raises a bare msgspec or YAML error: every problem becomes a `Problem` that names
the file and the field path, so `workbook validate` can print one line each.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import yaml
from msgspec import Meta, Struct, field

from .safeio import read_bounded
from .steps import STEP_IDS
from .textsafe import one_line

EXERCISES_ENV = "WORKBOOK_EXERCISES"
SLUG = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"
MAX_ID_LENGTH = 100  # well under any file system's name limit, with room for suffixes
MAX_SCENARIO_BYTES = 1024 * 1024  # the longest shipped scenario is under 30 KB
MAX_WEIGHT = 1000.0  # weights are relative; a bound keeps their sum finite
SCENARIO_SUFFIXES = (".yaml", ".yml")
_SLUG = re.compile(SLUG)


def is_scenario_id(value: object) -> bool:
    """True for a well-formed id: checked before an id is ever joined to a folder."""
    return isinstance(value, str) and len(value) <= MAX_ID_LENGTH and _SLUG.fullmatch(value) is not None

Level = Literal["intro", "intermediate", "advanced"]
RiskLevel = Literal["low", "medium", "high", "critical"]
StepId = Literal[
    "user_intent",
    "context_acquisition",
    "model_reasoning",
    "tool_execution",
    "safety_checks",
    "user_response",
    "feedback_evaluation",
]
Slug = Annotated[str, Meta(pattern=SLUG)]
Text = Annotated[str, Meta(min_length=1)]
Weight = Annotated[float, Meta(gt=0)]


class _Strict(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Schema base: unknown fields are errors, so a typo never passes silently."""


class Criterion(_Strict):
    id: Slug
    description: Text
    # Evidence patterns for the offline scorer; see `workbook.matching` for the syntax.
    evidence: Annotated[list[str], Meta(min_length=1)]
    probe: Text
    weight: Weight = 1.0


class StepSpec(_Strict):
    questions: Annotated[list[Text], Meta(min_length=1)]
    criteria: Annotated[list[Criterion], Meta(min_length=1)]
    reference_answer: Text
    hints: list[Text] = field(default_factory=list)
    weight: Weight = 1.0


class Steps(_Strict):
    """One field per step so errors name the step (`steps.tool_execution.criteria`)."""

    user_intent: StepSpec | None = None
    context_acquisition: StepSpec | None = None
    model_reasoning: StepSpec | None = None
    tool_execution: StepSpec | None = None
    safety_checks: StepSpec | None = None
    user_response: StepSpec | None = None
    feedback_evaluation: StepSpec | None = None


class AntiPatternSpec(_Strict):
    id: Slug
    title: Text
    patterns: Annotated[list[str], Meta(min_length=1)]
    better: Text
    steps: list[StepId] = field(default_factory=lambda: list(STEP_IDS))
    penalty: Annotated[float, Meta(ge=0, le=100)] = 15.0


class Stakeholder(_Strict):
    name: Text
    interest: Text


class ContextSource(_Strict):
    name: Text
    description: Text
    access: Text  # who may see it


class Tool(_Strict):
    name: Text
    description: Text
    reversible: bool = True


class Constraints(_Strict):
    risk_level: RiskLevel
    latency_budget: Text
    cost_budget: Text
    other: list[Text] = field(default_factory=list)


class Scenario(_Strict):
    id: Slug
    title: Text
    level: Level
    summary: Text
    brief: Text
    stakeholders: Annotated[list[Stakeholder], Meta(min_length=1)]
    constraints: Constraints
    context_sources: Annotated[list[ContextSource], Meta(min_length=1)]
    steps: Steps
    tools: list[Tool] = field(default_factory=list)
    anti_patterns: list[AntiPatternSpec] = field(default_factory=list)

    def step(self, step_id: str) -> StepSpec:
        spec = getattr(self.steps, step_id, None)
        if spec is None:
            raise KeyError(f"scenario {self.id!r} has no step {step_id!r}")
        return spec

    def step_specs(self) -> dict[str, StepSpec]:
        """The steps the file defines, in loop order."""
        return {step_id: getattr(self.steps, step_id) for step_id in STEP_IDS if getattr(self.steps, step_id) is not None}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: printed as `FILE: field.path: message`."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        text = f"{self.file}: {self.field}: {self.message}" if self.field else f"{self.file}: {self.message}"
        return one_line(text)  # a NUL or newline in a file or message must not split the line


class ScenarioError(Exception):
    """A scenario file could not be loaded; `problems` says every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnknownScenarioError(KeyError):
    def __init__(self, scenario_id: str, known: list[str], folder: str | os.PathLike | None = None):
        self.scenario_id = scenario_id
        where = f" in {folder}" if folder else ""
        super().__init__(f"unknown scenario {scenario_id!r}{where} (known: {', '.join(known) or 'none'})")

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidScenarioIdError(UnknownScenarioError):
    """The id is not of the id format, so no file was looked for."""

    def __init__(self, scenario_id: object):
        self.scenario_id = scenario_id
        shown = repr(scenario_id[:40] + "…" if isinstance(scenario_id, str) and len(scenario_id) > 40 else scenario_id)
        KeyError.__init__(
            self,
            f"{one_line(shown)} is not a scenario id: lowercase letters and digits joined by - or _, "
            f"at most {MAX_ID_LENGTH} characters (see `workbook list`)",
        )


# --- YAML -------------------------------------------------------------------


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that rejects duplicate keys instead of silently keeping the last."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"a {type(key).__name__} cannot be a key", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _yaml_problem(file: str, error: yaml.YAMLError) -> Problem:
    if isinstance(error, yaml.reader.ReaderError):
        character = error.character if isinstance(error.character, int) else ord(error.character or "\0")
        return Problem(file, f"character {error.position + 1}", f"unacceptable character #x{character:04x}: {error.reason}")
    mark = getattr(error, "problem_mark", None)
    what = getattr(error, "problem", None) or str(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
    return Problem(file, where, f"YAML syntax error: {what}")


# --- validation ---------------------------------------------------------------


_MSGSPEC_PATH = re.compile(r"(?: - at `(?P<path>[^`]*)`)?$")


def _schema_problem(file: str, error: msgspec.ValidationError) -> Problem:
    """Turn msgspec's "message - at `$.a.b[0].c`" into Problem(file, "a.b.0.c", message)."""
    text = str(error)
    match = _MSGSPEC_PATH.search(text)
    message = text[: match.start()] if match else text
    path = (match.group("path") or "$") if match else "$"
    path = path.removeprefix("key in `").removeprefix("$").lstrip(".")
    path = re.sub(r"\[(\w+)\]", r".\1", path).lstrip(".")
    missing = re.match(r"Object missing required field `(\w+)`", message)
    unknown = re.match(r"Object contains unknown field `(\w+)`", message)
    if missing:
        return Problem(file, _join(path, missing.group(1)), "required field is missing")
    if unknown and path == "steps":
        name = unknown.group(1)
        return Problem(file, _join("steps", name), f"unknown step id {name!r} (expected one of: {', '.join(STEP_IDS)})")
    if unknown:
        return Problem(file, _join(path, unknown.group(1)), "unknown field (check the spelling against `workbook new`)")
    message = message.replace("`", "")
    return Problem(file, path or "(top level)", message[0].lower() + message[1:])


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _semantic_problems(file: str, scenario: Scenario, stem: str | None) -> list[Problem]:
    from .matching import PatternError, compile_pattern  # local: keeps schema import light
    from .lexicon import concept_ids

    problems = []
    if stem is not None and stem != scenario.id:
        problems.append(Problem(file, "id", f"{scenario.id!r} does not match the file name {stem!r}"))
    for step_id in STEP_IDS:
        if getattr(scenario.steps, step_id) is None:
            problems.append(Problem(file, f"steps.{step_id}", "missing step (every scenario covers all seven)"))
    seen: dict[str, str] = {}
    known_concepts = concept_ids()
    for step_id, spec in scenario.step_specs().items():
        problems += _weight_problems(file, f"steps.{step_id}.weight", spec.weight)
        for index, criterion in enumerate(spec.criteria):
            where = f"steps.{step_id}.criteria.{index}"
            problems += _weight_problems(file, f"{where}.weight", criterion.weight)
            if criterion.id in seen:
                problems.append(Problem(file, f"{where}.id", f"duplicate criterion id {criterion.id!r} (first used in {seen[criterion.id]})"))
            seen.setdefault(criterion.id, where)
            for n, pattern in enumerate(criterion.evidence):
                problems += _pattern_problems(file, f"{where}.evidence.{n}", pattern, known_concepts, compile_pattern, PatternError)
    for index, anti in enumerate(scenario.anti_patterns):
        if math.isnan(anti.penalty):
            problems.append(Problem(file, f"anti_patterns.{index}.penalty", "must be a number from 0 to 100"))
        for n, pattern in enumerate(anti.patterns):
            problems += _pattern_problems(file, f"anti_patterns.{index}.patterns.{n}", pattern, known_concepts, compile_pattern, PatternError)
    return problems


def _weight_problems(file: str, where: str, weight: float) -> list[Problem]:
    if math.isfinite(weight) and 0 < weight <= MAX_WEIGHT:
        return []
    return [Problem(file, where, f"must be a finite number above 0 and at most {MAX_WEIGHT:g}, got {weight!r}")]


def _pattern_problems(file, where, pattern, known_concepts, compile_pattern, PatternError) -> list[Problem]:
    if pattern.startswith("@"):
        if pattern[1:] not in known_concepts:
            return [Problem(file, where, f"unknown concept {pattern!r} (see `workbook concepts`)")]
        return []
    try:
        compile_pattern(pattern)
    except PatternError as error:
        return [Problem(file, where, str(error))]
    return []


def parse_scenario(text: str, file: str = "<string>", stem: str | None = None) -> Scenario:
    """Parse and validate scenario YAML; raise ScenarioError listing every problem."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as error:
        raise ScenarioError([_yaml_problem(file, error)]) from None
    except ValueError as error:  # e.g. an integer over Python's 4300-digit conversion limit
        reason = str(error).split(";")[0]  # drop Python's advice to raise its digit limit
        raise ScenarioError([Problem(file, "YAML", f"value cannot be read: {reason}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(file, "YAML", "nested too deeply")]) from None
    if not isinstance(data, dict):
        raise ScenarioError([Problem(file, "", "a scenario file must be a YAML mapping (key: value pairs)")])
    try:
        scenario = msgspec.convert(data, Scenario)
    except msgspec.ValidationError as error:
        raise ScenarioError([_schema_problem(file, error)]) from None
    except RecursionError:
        raise ScenarioError([Problem(file, "(top level)", "nested too deeply")]) from None
    problems = _semantic_problems(file, scenario, stem)
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario_file(path: str | os.PathLike) -> Scenario:
    path = Path(path)
    try:
        text = read_bounded(path, MAX_SCENARIO_BYTES).decode("utf-8")
    except OSError as error:
        raise ScenarioError([Problem(str(path), "", f"cannot read file: {error.strerror or error}")]) from None
    except UnicodeDecodeError as error:
        raise ScenarioError([Problem(str(path), f"byte {error.start + 1}", "not UTF-8 text")]) from None
    return parse_scenario(text, file=str(path), stem=path.stem)


# --- finding scenarios ----------------------------------------------------------


def shipped_exercises_dir() -> Path:
    """The scenarios that come with the package (wheel) or the checkout (editable)."""
    packaged = Path(__file__).parent / "exercises"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "exercises"


def exercises_dirs(extra: str | os.PathLike | None = None) -> list[Path]:
    """Folders to read, most specific first: an explicit folder, then $WORKBOOK_EXERCISES."""
    if extra:
        return [Path(extra)]
    if os.environ.get(EXERCISES_ENV):
        return [Path(os.environ[EXERCISES_ENV])]
    return [shipped_exercises_dir()]


def scenario_files(folder: str | os.PathLike | None = None) -> list[Path]:
    files: list[Path] = []
    for directory in exercises_dirs(folder):
        files += folder_scenario_files(directory)
    return files


def folder_scenario_files(directory: Path) -> list[Path]:
    """The scenario files of one folder, sorted: `x.yaml` before `x.yml`, as `load_scenario` tries them."""
    if not directory.is_dir():
        what = "is not a folder" if os.path.lexists(directory) else "exercises folder does not exist"
        raise ScenarioError([Problem(str(directory), "", what)])
    try:
        return sorted(p for p in directory.iterdir() if p.suffix in SCENARIO_SUFFIXES and not p.name.startswith("."))
    except OSError as error:
        raise ScenarioError([Problem(str(directory), "", f"cannot read folder: {error.strerror or error}")]) from None


@lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int) -> Scenario:
    return load_scenario_file(path)


def _load_path(path: Path) -> Scenario:
    """Load through the cache; a dangling symlink or a symlink loop is a Problem, not an OSError."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as error:
        raise ScenarioError([Problem(str(path), "", f"cannot read file: {error.strerror or error}")]) from None
    return _load_cached(str(path), mtime)


def load_files(paths: list[Path]) -> tuple[dict[Path, Scenario], list[Problem]]:
    """Load files in order; a second file with an id already seen in its folder is a duplicate problem."""
    loaded: dict[Path, Scenario] = {}
    problems: list[Problem] = []
    first: dict[tuple[Path, str], Path] = {}
    for path in paths:
        try:
            scenario = _load_path(path)
        except ScenarioError as error:
            problems += error.problems
            continue
        key = (path.parent, scenario.id)
        if key in first:
            problems.append(Problem(str(path), "id", f"duplicate scenario id {scenario.id!r} (also in {first[key].name})"))
            continue
        first[key] = path
        loaded[path] = scenario
    return loaded, problems


def load_all(folder: str | os.PathLike | None = None) -> tuple[dict[str, Scenario], list[Problem]]:
    """Every valid scenario by id, plus the problems of the files that are not valid."""
    loaded, problems = load_files(scenario_files(folder))
    scenarios: dict[str, Scenario] = {}
    for path, scenario in loaded.items():
        if scenario.id in scenarios:  # only with several folders
            problems.append(Problem(str(path), "id", f"duplicate scenario id {scenario.id!r}"))
            continue
        scenarios[scenario.id] = scenario
    return scenarios, problems


def load_scenario(scenario_id: str, folder: str | os.PathLike | None = None) -> Scenario:
    """Load one scenario by id from the exercises folder; the id is checked before any path is built."""
    if not is_scenario_id(scenario_id):
        raise InvalidScenarioIdError(scenario_id)
    for directory in exercises_dirs(folder):
        for suffix in SCENARIO_SUFFIXES:
            path = directory / f"{scenario_id}{suffix}"
            if path.is_file():
                return _load_path(path)
    scenarios, _ = load_all(folder)
    if scenario_id in scenarios:
        return scenarios[scenario_id]
    raise UnknownScenarioError(scenario_id, sorted(scenarios), folder)
