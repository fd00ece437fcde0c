"""Topicality: is an answer set about this scenario, or a design of another product?

The scorer multiplies every step's score by the answer's topicality, from 1.0 (about this
scenario) down to 0 (another product's design, however well written). The signals:

1. *Distinct share*: what share of the answer's distinct content words are distinctive of this
   scenario. Few is what another product looks like, but also what a vague answer about this one
   looks like, so this signal alone never cuts below DISTINCT_FLOOR.
2. *Repeated words*: of the content words the answer keeps coming back to, the share this
   scenario's own text uses. A neighbouring product shares some words with this one, but its
   repeated nouns are its own (claims, receipts, diners). Only a concrete answer can be another
   product's design: an answer that says nothing specific is vague, and the rubric already says so,
   so this signal takes the figure below the floor only as far as the answer is concrete.
3. *Tools*: a design that names tools, none of which is this scenario's, while its words leave
   the question open, is about another product's tools.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from .lexicon import design_vocabulary
from .matching import stem

DISTINCT_FROM, DISTINCT_AT = 0.05, 0.085  # share of the answer's distinct content words distinctive of the scenario
DISTINCT_FLOOR = 0.3
REPEATED_FROM, REPEATED_AT = 0.35, 0.55  # share of its repeated content words that the scenario's own text uses
REPEATED_MIN = 12  # fewer repeated words than this say nothing either way
# Share of the counted statements that are specific (a number, a condition, an arrow). Below the first
# figure an answer is vague, and its repeated words (balance, robust, experience) are not another
# product's nouns; from the second, they may say it is another product's design.
CONCRETE_FROM, CONCRETE_AT = 0.2, 1 / 3
# Share of the rubric's criteria met (with evidence grounded in this scenario): from the first figure, an
# answer is partly shown to be about this scenario, from the second wholly, whatever words it repeats.
MET_FROM, MET_AT = 0.6, 0.7
OTHER_TOOLS_MIN = 2  # distinct tool names, none of them this scenario's, that say "another product's tools"

# A tool is named as code names it: lower-case words joined by underscores, starting with a verb
# (`issue_refund`, `read_quiz`). A name followed by ":" or "=" is a setting (`route_to_human: yes`).
_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b(?![ \t]*[:=])")
TOOL_VERBS = frozenset(
    """add apply approve archive assign ban block book call cancel change charge check close comment compute
    confirm create delete download draft edit email escalate export extract fetch file fill find flag generate
    get grant handoff hold import invite issue list load lock log lookup make mark match merge move notify
    offer open page park pay place post print process propose publish push query quote read record refund
    register reject release remove reply request reschedule reserve resolve retrieve return route run save
    schedule search send set show sign start stop store submit suggest summarise summarize sync tag take
    track transfer unlock update upload verify withdraw write""".split()
)


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Hedges, light verbs, closed-class words: repeating them is not coming back to a topic (read on first use)."""
    from importlib import resources

    text = resources.files("workbook").joinpath("data", "stop_words.txt").read_text(encoding="utf-8")
    return frozenset(stem(word) for line in text.splitlines() if not line.startswith("#") for word in line.split())


def _ramp(value: float, low: float, high: float) -> float:
    return max(0.0, min(1.0, (value - low) / (high - low)))


def from_rubric(met_share: float) -> float:
    """The least topicality an answer that meets this share of the scenario's criteria can have: its
    criteria are this scenario's, so meeting most of them shows what the answer is about. Another product's
    design meets fewer (at most about a third in the calibration sets, and 58% of the loosest shipped rubric
    when another scenario's reference answers are entered under it), a strong answer most (66% and up)."""
    return _ramp(met_share, MET_FROM, MET_AT)


def from_words(
    mentioned: set[str], content: Counter[str], written: Counter[str], own_weight: dict[str, float], concrete_share: float
) -> float:
    """Signals 1 and 2, multiplied, with the floor of signal 1 kept for a vague answer.

    `content` holds the content words of the text that counts; `written` those of the text set aside as
    well (grader-addressed, anti-pattern, dismissal). Numerators come from `content`, denominators from
    `written`, so appending set-aside text, even text that swallows a sentence before it, can only lower
    the figure. A scenario word in set-aside text only widens the denominator: it is charged where it
    stands, not counted again as another topic. `own_weight` gives each content word of the scenario's
    text its weight as the scenario's own (a word its text uses only once counts less: a passing mention
    is not its subject).
    """
    distinct = max(DISTINCT_FLOOR, _ramp(len(mentioned) / len(written) if written else 0.0, DISTINCT_FROM, DISTINCT_AT))
    design, stop = design_vocabulary(), stop_words()
    repeated = [word for word, count in written.items() if count > 1 and word not in design and word not in stop]
    total = sum(written[word] for word in repeated)
    if total < REPEATED_MIN:
        return distinct
    own = sum(content[word] * own_weight.get(word, 0.0) for word in repeated)
    vague_floor = DISTINCT_FLOOR * (1.0 - _ramp(concrete_share, CONCRETE_FROM, CONCRETE_AT))
    return max(vague_floor, distinct * _ramp(own / total, REPEATED_FROM, REPEATED_AT))


def other_tools(kept: str, set_aside: str, tool_names: list[str]) -> list[str]:
    """Signal 3: the tool names in the answer that are not this scenario's, when it names at least
    OTHER_TOOLS_MIN others and, in the text `kept` (not set aside), none of the scenario's; else [].
    A scenario tool named only in set-aside text does not count, so appending an anti-pattern that
    names one cannot lift another product's design. A name counts as the scenario's when every one of
    its words is in the scenario's tool names, so `save_draft` and `check_answer` are shortenings of
    `save_draft_summary` and `check_student_answer`, not other tools."""
    if not tool_names:
        return []  # a scenario that lists no tools gives nothing to compare with
    words = {word for name in tool_names for word in _words_of(name)}
    others: dict[str, None] = {}
    for text, counts in ((kept, True), (set_aside, False)):
        for name in _NAME.findall(text.lower()) if "_" in text else ():
            parts = name.split("_")
            if parts[0] not in TOOL_VERBS:
                continue  # `order_id`, `claim_id`: a field, not a tool
            if not words.issuperset(parts):
                others[name] = None
            elif counts:
                return []
    return list(others) if len(others) >= OTHER_TOOLS_MIN else []


def _words_of(tool_name: str) -> list[str]:
    """`issue_refund`, `issueRefund`, `issue-refund` and `Issue refund` all give ["issue", "refund"]."""
    return re.findall(r"[a-z0-9]+", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", tool_name).lower())


def flag(topicality: float, mentioned: set[str], content: Counter[str], written: Counter[str]) -> str:
    counted = f"({len(mentioned)} of its {len(written)} content words)"
    if 2 * sum(content.values()) < sum(written.values()):
        # Most words sit in sentences already set aside: telling such a learner "write about this product"
        # would be wrong when the set-aside sentences are about it.
        return (
            f"Most of the answer is set aside (anti-patterns, safeguards turned down or text addressed to the grader), "
            f"and what is left names little that is specific to this scenario {counted}, so its scores count at "
            f"{topicality:.0%}: replace the set-aside sentences with decisions about this product."
        )
    return (
        f"The answer names little that is specific to this scenario {counted}, "
        f"so its scores count at {topicality:.0%}: write about this product's people, data and tools."
    )


FLAG_TOOLS = 5  # other tools quoted in the flag; an answer may name thousands


def tools_flag(others: list[str], tool_names: list[str]) -> str:
    named = ", ".join(others[:FLAG_TOOLS]) + (f" and {len(others) - FLAG_TOOLS} more" if len(others) > FLAG_TOOLS else "")
    return (
        f"The tools this design names ({named}) are none of this scenario's "
        f"({', '.join(tool_names)}), and little else in it is specific to this scenario: it reads as a design "
        f"for another product, so its scores count at 0%. Design with this scenario's tools and data."
    )
