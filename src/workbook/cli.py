"""The `workbook` command: list, show, validate, new, concepts, score.

Every failure the user can cause ends in one clear line on stderr and exit 2
(usage, missing files, bad input, any OSError or encoding problem) or exit 1
(`validate` found problems); never a traceback. Everything printed passes through
`textsafe.terminal_safe`, so text from answers or scenario files cannot move the
cursor or clear the screen, and a terminal that cannot show a character gets `?`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Callable, Sequence

from .scenario import (
    EXERCISES_ENV,
    MAX_ID_LENGTH,
    ScenarioError,
    UnknownScenarioError,
    folder_scenario_files,
    load_all,
    load_files,
    load_scenario,
    scenario_files,
)
from .steps import STEPS
from .textsafe import one_line, terminal_safe


class UsageError(Exception):
    """A problem with what the user asked for: one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _wrap(text: str, indent: str = "  ") -> str:
    return textwrap.fill(" ".join(text.split()), width=88, initial_indent=indent, subsequent_indent=indent)


# --- commands --------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    scenarios, problems = load_all(args.exercises)
    for problem in problems:
        print(f"warning: skipped invalid scenario: {problem}", file=sys.stderr)
    rows = [{"id": s.id, "title": s.title, "level": s.level} for s in scenarios.values()]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    width = max((len(row["id"]) for row in rows), default=2)
    for row in rows:
        print(f"{row['id']:<{width}}  {row['level']:<12}  {row['title']}")
    return 0


def _learner_view(scenario) -> dict:
    """Everything a learner may see before attempting: no evidence patterns, probes or references."""
    c = scenario.constraints
    return {
        "id": scenario.id,
        "title": scenario.title,
        "level": scenario.level,
        "summary": scenario.summary,
        "brief": scenario.brief.strip(),
        "stakeholders": [{"name": s.name, "interest": s.interest} for s in scenario.stakeholders],
        "context_sources": [{"name": s.name, "description": s.description, "access": s.access} for s in scenario.context_sources],
        "tools": [{"name": t.name, "description": t.description, "reversible": t.reversible} for t in scenario.tools],
        "constraints": {"risk_level": c.risk_level, "latency_budget": c.latency_budget, "cost_budget": c.cost_budget, "other": list(c.other)},
        "steps": [
            {"id": step.id, "number": step.number, "title": step.title,
             "questions": list(scenario.step(step.id).questions), "hints": list(scenario.step(step.id).hints)}
            for step in STEPS
        ],
    }


def cmd_show(args: argparse.Namespace) -> int:
    view = _learner_view(load_scenario(args.id, args.exercises))
    if args.format == "json":
        print(json.dumps(view, indent=2, ensure_ascii=False))
        return 0
    print(f"{view['title']}  [{view['id']}, {view['level']}]\n")
    for paragraph in view["brief"].split("\n\n"):
        print(_wrap(paragraph, "") + "\n")
    print("People affected")
    for person in view["stakeholders"]:
        print(_wrap(f"- {person['name']}: {person['interest']}", "  "))
    print("\nContext sources (and who may see them)")
    for source in view["context_sources"]:
        print(_wrap(f"- {source['name']}: {source['description']} Access: {source['access']}", "  "))
    if view["tools"]:
        print("\nTools")
        for tool in view["tools"]:
            undo = "reversible" if tool["reversible"] else "NOT reversible"
            print(_wrap(f"- {tool['name']} ({undo}): {tool['description']}", "  "))
    c = view["constraints"]
    print(f"\nConstraints\n  Risk: {c['risk_level']}")
    print(_wrap(f"Latency: {c['latency_budget']}", "  "))
    print(_wrap(f"Cost: {c['cost_budget']}", "  "))
    for other in c["other"]:
        print(_wrap(f"- {other}", "  "))
    print()
    for step in view["steps"]:
        print(f"{step['number']}. {step['title']}")
        for question in step["questions"]:
            print(_wrap(f"- {question}", "   "))
        for hint in step["hints"]:
            print(_wrap(f"Hint: {hint}", "   "))
        print()
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    files: list[Path] = []
    for path in map(Path, args.paths):  # a folder named on the command line means its scenario files
        files += folder_scenario_files(path) if path.is_dir() else [path]
    files = files if args.paths else scenario_files(args.exercises)
    _, problems = load_files(files)  # the same duplicate rule as `workbook list`
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(files)} scenario file(s) valid")
    return 1 if problems else 0


def cmd_new(args: argparse.Namespace) -> int:
    import re

    if len(args.id) > MAX_ID_LENGTH or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", args.id):
        shown = args.id if len(args.id) <= 40 else args.id[:40] + "…"
        raise UsageError(
            f"scenario id {shown!r} must be lowercase words joined by hyphens, at most {MAX_ID_LENGTH} characters, e.g. 'claims-triage'"
        )
    folder = Path(args.exercises) if args.exercises else Path(os.environ.get(EXERCISES_ENV) or "exercises")
    if os.path.lexists(folder) and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; point --exercises (or ${EXERCISES_ENV}) at a folder")
    target = folder / f"{args.id}.yaml"
    if os.path.lexists(target):
        raise UsageError(f"{target} already exists; pick another id or edit that file")
    from importlib import resources

    template = resources.files("workbook").joinpath("data", "scenario_template.yaml").read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "x", encoding="utf-8") as stream:  # "x": never overwrite a file made meanwhile
            stream.write(template.replace("__ID__", args.id))
    except FileExistsError:
        raise UsageError(f"{target} already exists; pick another id or edit that file") from None
    print(f"created {target}: fill it in, then run `workbook validate {target}`")
    return 0


def cmd_concepts(args: argparse.Namespace) -> int:
    from .lexicon import concepts

    for concept in concepts().values():
        print(f"@{concept.id:<30} {concept.description}")
        if getattr(args, "patterns", False):
            for pattern in concept.patterns:
                print(f"    {pattern.source}")
                print(_wrap(f"matches: {_pattern_words(pattern)}", "      "))
    return 0


def _pattern_words(pattern) -> str:
    """A compiled pattern as its terms would read: stems and prefixes, thesaurus wordings included."""
    terms = [" | ".join(" ".join(alternative.keys) for alternative in term) for term in pattern.terms]
    return "  ~  ".join(f"[{term}]" for term in terms)


def cmd_match(args: argparse.Namespace) -> int:
    """Does one evidence pattern match a sentence? Exit 0 when it does, 1 when not, 2 for a bad pattern."""
    from .lexicon import compile_evidence, concepts
    from .matching import PatternError, analyse, find_spans

    source = args.pattern.strip()
    try:
        if source.startswith("@"):
            table = concepts()
            if source[1:] not in table:
                raise UsageError(f"unknown concept {source!r} (see `workbook concepts`)")
            patterns = list(table[source[1:]].patterns)
        else:
            patterns = [compile_evidence(source)]
    except PatternError as error:
        raise UsageError(str(error)) from None
    text = analyse(args.text)
    matched = False
    for pattern in patterns:
        print(f"pattern: {pattern.source}")
        print(_wrap(f"terms: {_pattern_words(pattern)}", "  "))
        for index, (first, last) in sorted(find_spans(text, pattern).items()):
            matched = True
            segment = text.segments[index]
            offsets = text.token_offsets(segment)
            start = offsets[first - segment.start]
            end = _token_end(text, offsets[last - 1 - segment.start])
            print(f"  matches sentence {index + 1}: \"{segment.text}\"")
            print(f"  on the words: \"{text.raw[start:end]}\"")
    if not matched:
        print("no match: every term must occur in one sentence, within a few words of the others")
    return 0 if matched else 1


def _token_end(text, offset: int) -> int:
    from .matching import _WORD

    found = _WORD.match(text.lowered, offset)
    return found.end() if found else offset + 1


def cmd_score(args: argparse.Namespace) -> int:
    from .answers import load_answers
    from .scoring import score

    answers = load_answers(args.answers)
    scenario = load_scenario(answers.scenario, args.exercises)
    if args.grader == "offline" and not (args.model or args.show_prompt):
        report = score(answers, scenario)
    else:
        from .graders.command import run_score

        report = run_score(args, answers, scenario)
        if report is None:  # --show-prompt
            return 0
    print(report.to_json() if args.format == "json" else report.to_text())
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    from .app import AppError, serve

    try:
        return serve(args.scenario, port=args.port, root=args.root, ip=args.ip, exercises=args.exercises)
    except AppError as error:
        raise UsageError(str(error)) from None


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import CalibrationError, calibrate, load_sets
    from .scoring import score

    try:
        items = load_sets(args.set)
    except CalibrationError as error:
        raise UsageError(str(error)) from None
    grade, grader = score, None
    if args.grader != "offline":
        from .graders.command import calibration_grade

        grade, grader = calibration_grade(args, items, args.exercises)
    result = calibrate(items, grade, args.exercises)
    usage = getattr(grader, "usage", None)
    if usage is not None and usage.requests:
        print(f"workbook: Claude usage: {usage.describe(grader.model)}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps({
            "sets": len(result.graded), "spearman": round(result.spearman, 4), "kappa": round(result.kappa, 4),
            "per_scenario": {s: round(r, 4) for s, r in result.per_scenario.items()},
            "per_set": {s: round(r, 4) for s, r in result.per_set.items()},
            "misorderings": [[h.item.scenario, h.item.name, h.item.label, h.total, l.item.name, l.item.label, l.total] for h, l in result.misorderings],
            "graded": [{"scenario": g.item.scenario, "name": g.item.name, "kind": g.item.kind, "label": g.item.label, "total": g.total} for g in result.graded],
        }, indent=2))
    else:
        print(result.to_text())
    return 0


def _progress_printer(label: str) -> Callable[[int, int], None]:
    """A progress bar on a terminal (redrawn in place), else a line at every tenth of the way."""
    raw = getattr(sys.stderr, "_stream", sys.stderr)  # the bar's own \r must not be escaped
    tty = hasattr(raw, "isatty") and raw.isatty()
    shown = {"step": -1}

    def show(done: int, total: int) -> None:
        if tty:
            filled = int(30 * done / max(total, 1))
            raw.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}" + ("\n" if done >= total else ""))
            raw.flush()
            return
        step = int(10 * done / max(total, 1))
        if step != shown["step"]:
            shown["step"] = step
            print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)

    return show


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade a class; exit 0 when every submission was graded, 3 when some went to errors.csv (or the charts failed)."""
    from .classroom import grade_class_folder
    from .classroom.charts import ChartsUnavailable
    from .classroom.overrides import OverridesError, load_comments, load_overrides

    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.grader not in ("offline", "claude"):
        raise UsageError(f"--grader must be offline or claude, got {args.grader!r}")
    missing = [path for path in args.paths if not os.path.lexists(path)]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder")
    out = Path(args.out)
    if os.path.lexists(out) and not out.is_dir():
        raise UsageError(f"--out {out} is not a folder")
    if args.exercises:
        _usable_scenarios(args.exercises)  # before grading a class against a folder that is not there
    if args.comments and not args.overrides:
        raise UsageError("--comments needs --overrides (comments are referenced from override rows as @id)")
    try:
        overrides = load_overrides(args.overrides, load_comments(args.comments))
    except OverridesError as error:
        raise UsageError(str(error)) from None
    confirm = None
    if args.grader == "claude" and not args.yes:
        from .graders.command import _confirm

        def confirm(estimate) -> bool:
            print(f"workbook: Claude batch: {estimate.describe()}", file=sys.stderr)
            if not _confirm("Send it? [y/N]"):
                raise UsageError("not confirmed, nothing was sent (answer y at the prompt, or pass --yes)")
            return True
    try:
        result = grade_class_folder(
            args.paths, out, grader=args.grader, overrides=overrides, include_reference=args.include_reference,
            jobs=args.jobs, exercises=args.exercises, progress=_progress_printer("grading"), confirm=confirm,
        )
    except ChartsUnavailable as error:
        raise UsageError(str(error)) from None
    graded = result.graded
    for problem in graded.problems + ([result.chart_problem] if result.chart_problem else []):
        print(f"workbook: warning: {problem}", file=sys.stderr)
    print(
        f"graded {len(graded.rows)} submission(s) of {len({r.learner for r in graded.rows})} learner(s); "
        f"{len(graded.superseded)} older save(s) listed in superseded.csv; "
        f"{len(graded.rejected)} rejected and {len(graded.problems)} override problem(s) in errors.csv; written to {out}"
    )
    return 0 if result.clean else 3


def cmd_generate(args: argparse.Namespace) -> int:
    from .classroom.generate import generate

    scenarios = _usable_scenarios(args.exercises)
    if args.scenario == "all":
        ids = sorted(scenarios)
    elif args.scenario in scenarios:
        ids = [args.scenario]
    else:
        load_scenario(args.scenario, args.exercises)  # the one-line error: unknown id (with the known ids) or the file's problem
        ids = [args.scenario]
    made = generate(ids, args.out, mode=args.mode, minutes=args.minutes, exercises=args.exercises, progress=_progress_printer("preparing"))
    print(f"prepared {len(made)} {args.mode} notebook(s) in {args.out}")
    if args.exercises:
        print(f"their scenarios were copied from {args.exercises} to {Path(args.out) / 'scenarios'}: "
              f"hand out the whole folder, the notebooks read them from there")
    return 0


def _usable_scenarios(folder: str | None) -> dict:
    """The valid scenarios of `--exercises DIR` (or the default folder); one line naming the folder when there are none."""
    scenarios, problems = load_all(folder)  # a missing folder is a ScenarioError naming it
    if folder and not scenarios:
        detail = f"; first problem: {problems[0]}" if problems else ""
        raise UsageError(f"--exercises {folder}: holds no valid scenario ({len(problems)} file(s) with problems{detail})")
    return scenarios


# --- parser ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="workbook",
        description="Practice AI-product system design: scenarios, rubrics and an offline scorer.",
    )
    parser.add_argument(
        "--exercises",
        metavar="DIR",
        help=f"read scenarios from DIR instead of the shipped ones (or set ${EXERCISES_ENV})",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help, description=help)
        command.set_defaults(handler=handler)
        return command

    listing = add("list", cmd_list, "List the scenarios: id, level and title.")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    show = add("show", cmd_show, "Show what a learner sees: brief, people, context sources, tools, constraints, questions and hints.")
    show.add_argument("id", help="scenario id (see `workbook list`)")
    show.add_argument("--format", choices=["text", "json"], default="text")
    validate = add("validate", cmd_validate, "Check scenario files; exit 1 with one line per problem.")
    validate.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: every scenario)")
    new = add("new", cmd_new, "Create a new scenario file from the commented template.")
    new.add_argument("id", help="the new scenario's id, e.g. claims-triage")
    concepts_cmd = add("concepts", cmd_concepts, "List the built-in concepts usable as @id in evidence.")
    concepts_cmd.add_argument("--patterns", action="store_true", help="also show each concept's patterns and the words they match")
    match_cmd = add("match", cmd_match, "Test an evidence pattern (or @concept) against a sentence; exit 0 if it matches, 1 if not.")
    match_cmd.add_argument("pattern", metavar="PATTERN", help="e.g. 'roll back|revert ~ error rate' or @staged_rollout")
    match_cmd.add_argument("text", metavar="TEXT", help="the sentence (or paragraph) to test")
    app_cmd = add("app", cmd_app, "Serve the practice notebook as a Voila app: every visitor gets a work folder of their own.")
    app_cmd.add_argument("scenario", nargs="?", metavar="SCENARIO", help="scenario id (default: the practice notebook's)")
    app_cmd.add_argument("--port", type=int, default=8866, help="local port (default 8866)")
    app_cmd.add_argument("--root", metavar="DIR", help="where visitors' folders go (default: ./workbook-app)")
    app_cmd.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for a room)")
    calibrate_cmd = add("calibrate", cmd_calibrate, "Grade a folder of labelled answer sets and compare with the labels (Spearman, kappa, misorderings).")
    calibrate_cmd.add_argument("--set", metavar="DIR", help="folder of labelled YAML files (default: the calibration set shipped with workbook)")
    calibrate_cmd.add_argument("--format", choices=["text", "json"], default="text")
    calibrate_cmd.add_argument("--grader", default="offline", help="offline (default), claude, or an installed grader")
    calibrate_cmd.add_argument("--model", help="Claude model id (default: $WORKBOOK_MODEL, else the SDK's cheapest fast tier)")
    calibrate_cmd.add_argument("--yes", action="store_true", help="do not ask before sending (skips the cost question)")
    score_cmd = add("score", cmd_score, "Score an answers file (offline scorer by default, or --grader claude).")
    score_cmd.add_argument("answers", metavar="ANSWERS.json")
    score_cmd.add_argument("--format", choices=["text", "json"], default="text")
    score_cmd.add_argument("--grader", default="offline", help="offline (default), claude, or an installed grader")
    score_cmd.add_argument("--model", help="Claude model id (default: $WORKBOOK_MODEL, else the SDK's cheapest fast tier)")
    score_cmd.add_argument("--show-prompt", action="store_true", help="print the exact request Claude would get; send nothing")
    score_cmd.add_argument("--yes", action="store_true", help="do not ask before sending (the cost estimate is skipped)")
    grade_cmd = add("grade", cmd_grade, "Grade a class: answers files and saved practice notebooks, folders searched recursively.")
    grade_cmd.add_argument("paths", nargs="+", metavar="PATH", help="answers files, practice notebooks, or folders of them")
    grade_cmd.add_argument("--out", required=True, metavar="DIR", help="where gradebook.csv, canvas.csv, the reports and charts go")
    grade_cmd.add_argument("--grader", default="offline", help="offline (default) or claude (one Message Batch for the class)")
    grade_cmd.add_argument("--overrides", metavar="FILE", help="CSV of learner, scenario, step, score, comment")
    grade_cmd.add_argument("--comments", metavar="FILE", help="bank of reusable comments (CSV id,text or JSON), used as @id in overrides")
    grade_cmd.add_argument("--include-reference", action="store_true", help="put the reference answers in the feedback pages")
    grade_cmd.add_argument("--jobs", type=int, default=1, metavar="N", help="grade in N processes (default 1)")
    grade_cmd.add_argument("--yes", action="store_true", help="with --grader claude: do not ask before sending")
    generate_cmd = add("generate", cmd_generate, "Prepare practice notebooks for a class or workshop (parameters injected, not run).")
    generate_cmd.add_argument("--scenario", required=True, metavar="ID|all")
    generate_cmd.add_argument("--out", required=True, metavar="DIR")
    generate_cmd.add_argument("--mode", choices=["practice", "mock"], default="practice")
    generate_cmd.add_argument("--minutes", type=float, default=45, metavar="N", help="time limit of a mock (default 45)")
    return parser


class _SafeStream:
    """Wraps stdout/stderr: control characters escaped, unencodable characters replaced."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        text = terminal_safe(text)
        try:
            return self._stream.write(text)
        except UnicodeEncodeError:  # e.g. a cp1252 console and "→"
            encoding = getattr(self._stream, "encoding", None) or "ascii"
            return self._stream.write(text.encode(encoding, "replace").decode(encoding))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _error(message: object) -> int:
    print(f"workbook: error: {one_line(str(message))}", file=sys.stderr)
    return 2


def _os_error_line(error: OSError) -> str:
    if error.filename is not None:
        target = f" -> {error.filename2}" if error.filename2 is not None else ""
        return f"{error.filename}{target}: {error.strerror or error}"
    return error.strerror or str(error)


def main(argv: Sequence[str] | None = None) -> int:
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _SafeStream(sys.stdout), _SafeStream(sys.stderr)
    try:
        return _run(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _run(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except (UsageError, UnknownScenarioError) as error:
        return _error(error)
    except ScenarioError as error:
        for problem in error.problems:
            _error(problem)
        return 2
    except _input_errors() as error:
        return _error(error)
    except BrokenPipeError:
        return 0
    except OSError as error:
        return _error(_os_error_line(error))
    except UnicodeError as error:
        return _error(f"cannot encode or decode text: {error}")
    except RecursionError:
        return _error("input nested too deeply")


def _input_errors() -> tuple[type[Exception], ...]:
    from .answers import AnswersError

    return (AnswersError,)


if __name__ == "__main__":
    sys.exit(main())
