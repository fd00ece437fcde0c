"""The Claude grader: rubric verdicts from Claude that the workbook checks before it trusts them.

One request grades every step of an answer set that is not already cached. The
answer comes back through the SDK's structured output (`messages.parse` with the
`Judgement` schema); `verdicts` rejects unknown ids and states, verifies each
quote against the learner's text and computes the scores. Any failure (no key,
401, 429 after the SDK's retries, 5xx, timeout, malformed output) ends in a
one-line reason in `last_error` and the offline report, flagged.

The API key lives in this object's memory only (or in ANTHROPIC_API_KEY): it is
never put in a report, a cache file, a prompt or an error message.
"""

from __future__ import annotations

import os
import re
from typing import Iterable

from ..answers import Answers
from ..report import Report, StepReport
from ..scenario import Scenario
from ..scoring import score
from ..steps import STEP_IDS
from .cache import VerdictCache, verdict_key
from .costs import Estimate, Usage
from .prompt import _CONTROL, follow_up_request, grading_request, rubric_version
from .verdicts import StepVerdict, VerdictError, build_report, check_judgement, empty_verdict, normalise, step_report

MODEL_ENV = "WORKBOOK_MODEL"
KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_TIMEOUT = 60.0
NO_SDK = "the Claude grader needs the anthropic SDK: pip install 'workbook[claude]'"
OUTPUT_TOKENS_PER_STEP = 60  # for estimates: rationale and framing
OUTPUT_TOKENS_PER_CRITERION = 45  # for estimates: id, verdict and a short quote


class GradingError(Exception):
    """Claude could not grade; the message is one line a learner can act on."""


def default_model() -> str:
    """The newest undated Haiku (the cheap, fast tier) in the installed SDK's model list."""
    from typing import get_args

    try:
        from anthropic.types.model import Model
    except ImportError:
        raise GradingError(NO_SDK) from None

    names = [name for arg in get_args(Model) for name in get_args(arg) if isinstance(name, str)]
    haiku = [n for n in names if n.startswith("claude-haiku-") and not re.search(r"-\d{8}$", n)]
    if not haiku:
        raise GradingError("the installed anthropic SDK lists no Haiku model; pass --model or set WORKBOOK_MODEL")
    return max(haiku, key=lambda n: tuple(int(part) for part in re.findall(r"\d+", n)))


def output_config() -> dict:
    """The structured-output format `messages.parse(output_format=Judgement)` sends, for batches and display."""
    from anthropic import transform_schema

    from .schema import Judgement

    return {"format": {"type": "json_schema", "schema": transform_schema(Judgement)}}


def describe_error(error: Exception, model: str, timeout: float) -> str:
    """One line for an SDK failure; never the server's text, which could echo what was sent."""
    import anthropic

    if isinstance(error, anthropic.AuthenticationError):
        return "the API key was rejected (401); check ANTHROPIC_API_KEY or the key you entered"
    if isinstance(error, anthropic.PermissionDeniedError):
        return f"this API key may not use {model} (403)"
    if isinstance(error, anthropic.NotFoundError):
        return f"the API does not know the model {model!r} (404); pass another --model"
    if isinstance(error, anthropic.RateLimitError):
        return "rate limited (429) even after the SDK's retries; wait a minute and check again"
    if isinstance(error, anthropic.APIStatusError):
        kind = "the API failed" if error.status_code >= 500 else "the API refused the request"
        return f"{kind} ({error.status_code}){' even after the SDK retries' if error.status_code >= 500 else ''}"
    if isinstance(error, anthropic.APITimeoutError):
        return f"no answer from the API within {timeout:g} s"
    if isinstance(error, anthropic.APIConnectionError):
        return "cannot reach the API (no network, or a wrong base URL)"
    return f"the anthropic SDK failed ({type(error).__name__})"


class ClaudeGrader:
    name = "claude"

    def __init__(
        self,
        *,
        model: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        use_cache: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        max_tokens: int = 4096,
    ):
        self.model = model or os.environ.get(MODEL_ENV) or default_model()
        self.__key = api_key
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.cache = VerdictCache(cache_dir) if use_cache else None
        self.usage = Usage()  # every request this grader made
        self.last_usage = Usage()  # the last grade / grade_step / follow-up call
        self.last_prompt: dict | None = None  # the exact request body last sent ("What Claude saw")
        self.last_error = ""  # why the last call fell back to offline, one line
        self.last_flags: list[str] = []  # flags of the last grade_step
        self._client = None

    def __repr__(self) -> str:
        return f"ClaudeGrader(model={self.model!r}, key={'set' if self.has_key else 'not set'})"

    # --- the key and the client --------------------------------------------------

    def set_key(self, api_key: str | None) -> None:
        """Use this key (from a password field) instead of ANTHROPIC_API_KEY; kept in memory only."""
        self.__key = api_key or None
        self._client = None

    @property
    def has_key(self) -> bool:
        return bool(self.__key or os.environ.get(KEY_ENV))

    def client(self):
        if self._client is None:
            key = self.__key or os.environ.get(KEY_ENV)
            if not key:
                raise GradingError("no API key: set ANTHROPIC_API_KEY or enter a key")
            try:
                import anthropic
            except ImportError:
                raise GradingError(NO_SDK) from None
            self._client = anthropic.Anthropic(api_key=key, base_url=self.base_url, timeout=self.timeout, max_retries=self.max_retries)
        return self._client

    # --- planning: what is cached, what must be sent -----------------------------

    def _key_for(self, scenario: Scenario, step_id: str, text: str) -> str:
        return verdict_key(self.model, rubric_version(scenario), step_id, text)

    def plan(self, answers: Answers, scenario: Scenario, step_ids: Iterable[str] | None = None) -> tuple[dict[str, StepVerdict], dict[str, str]]:
        """(verdicts known without a request, step id -> text still to send)."""
        known: dict[str, StepVerdict] = {}
        to_send: dict[str, str] = {}
        specs = scenario.step_specs()
        for step_id in step_ids or specs:
            text = answers.text(step_id)
            hit = self.cache.get(self._key_for(scenario, step_id, text)) if self.cache and text.strip() else None
            if not text.strip():
                known[step_id] = empty_verdict(step_id, specs[step_id])
            elif hit is not None and hit.step == step_id:
                known[step_id] = hit
            else:
                to_send[step_id] = text
        return known, to_send

    def request_for(self, scenario: Scenario, steps: dict[str, str]) -> dict:
        """The exact request body for grading `steps`, structured-output format included."""
        return grading_request(self.model, scenario, steps, self.max_tokens) | {"output_config": output_config()}

    def prompt_for(self, answers: Answers, scenario: Scenario, step_ids: Iterable[str] | None = None) -> dict | None:
        """What a check would send now (None when every step is cached or empty)."""
        _, to_send = self.plan(answers, scenario, step_ids)
        return self.request_for(scenario, to_send) if to_send else None

    def estimate(self, jobs: list[tuple[Scenario, dict[str, str]]], batch: bool = False) -> Estimate:
        """Count the input tokens of each request with the API; guess output from the rubric size."""
        from .schema import Judgement

        tokens = output = 0
        for scenario, steps in jobs:
            params = grading_request(self.model, scenario, steps, self.max_tokens)
            counted = self._call(lambda: self.client().messages.count_tokens(
                model=params["model"], system=params["system"], messages=params["messages"], output_format=Judgement))
            tokens += counted.input_tokens
            output += sum(OUTPUT_TOKENS_PER_STEP + OUTPUT_TOKENS_PER_CRITERION * len(scenario.step(s).criteria) for s in steps)
        return Estimate(self.model, len(jobs), tokens, output, batch)

    # --- calling Claude --------------------------------------------------------------

    def _call(self, request):
        import anthropic
        import pydantic

        try:
            return request()
        except anthropic.AnthropicError as error:
            raise GradingError(describe_error(error, self.model, self.timeout)) from None
        except (pydantic.ValidationError, ValueError):
            raise GradingError("Claude's answer did not match the verdict format; nothing from it was used") from None

    def _record(self, usage) -> None:
        used = Usage.from_sdk(usage)
        self.last_usage.add(used)
        self.usage.add(used)

    def judge(self, scenario: Scenario, steps: dict[str, str]) -> dict[str, StepVerdict]:
        """Send one grading request for `steps` and return checked verdicts (cached too)."""
        from .schema import Judgement

        body = self.request_for(scenario, steps)
        self.last_prompt = body
        params = {k: v for k, v in body.items() if k != "output_config"}
        message = self._call(lambda: self.client().messages.parse(**params, output_format=Judgement))
        self._record(message.usage)
        return self.accept(message.parsed_output, scenario, {s: self._key_for(scenario, s, t) for s, t in steps.items()})

    def accept(self, judgement, scenario: Scenario, keys: dict[str, str]) -> dict[str, StepVerdict]:
        """Check a parsed `Judgement` for the steps in `keys` (step -> cache key) and cache its verdicts."""
        if judgement is None:
            raise GradingError("Claude returned no verdict (refused or cut off); nothing from it was used")
        try:
            verdicts = check_judgement(judgement.model_dump(), scenario, list(keys))
        except VerdictError as error:
            raise GradingError(f"Claude's verdict was rejected: {error}") from None
        if self.cache:
            for step_id, verdict in verdicts.items():
                self.cache.put(keys[step_id], verdict, self.model)
        return verdicts

    # --- the Grader protocol and the form's API -----------------------------------------

    def grade(self, answers: Answers, scenario: Scenario) -> Report:
        """The whole answer set; on any failure the offline report, flagged with the reason."""
        self.last_usage, self.last_error = Usage(), ""
        try:
            known, to_send = self.plan(answers, scenario)
            if to_send:
                known |= self.judge(scenario, to_send)
            return build_report(scenario, answers, known, self.name)
        except GradingError as error:
            self.last_error = str(error)
            report = score(answers, scenario)
            report.flags.insert(0, f"Claude could not grade this ({error}); this is the offline result.")
            return report

    def grade_step(self, step_id: str, answers: Answers, scenario: Scenario) -> StepReport:
        """One step (the form's "Check this step"); flags in `last_flags`, failure reason in `last_error`."""
        self.last_usage, self.last_error, self.last_flags = Usage(), "", []
        spec = scenario.step(step_id)
        earlier = [normalise(answers.text(s)) for s in STEP_IDS[: STEP_IDS.index(step_id)]]
        try:
            known, to_send = self.plan(answers, scenario, [step_id])
            if to_send:
                known |= self.judge(scenario, to_send)
            report, self.last_flags = step_report(step_id, spec, known[step_id], answers.text(step_id), earlier)
            return report
        except GradingError as error:
            self.last_error = str(error)
            report = score(answers, scenario).steps[step_id]
            report.feedback.insert(0, f"Claude could not grade this step ({error}); this is the offline result.")
            self.last_flags = [f"Claude could not grade this ({error}); this is the offline result."]
            return report

    def ask_follow_up(self, step_id: str, text: str, scenario: Scenario, gaps: list[str]) -> str:
        """One interviewer question from Claude (raises GradingError); see `interviewer.follow_up`."""
        from .schema import FollowUpQuestion

        params = follow_up_request(self.model, scenario, step_id, text, gaps, 300)
        self.last_prompt = params | {"output_config": {"format": {"type": "json_schema", "schema": _follow_up_schema()}}}
        message = self._call(lambda: self.client().messages.parse(**params, output_format=FollowUpQuestion))
        self._record(message.usage)
        question = normalise(_CONTROL.sub("", message.parsed_output.question if message.parsed_output else ""))
        if not question:
            raise GradingError("Claude returned an empty question")
        return question[:300]


def _follow_up_schema() -> dict:
    from anthropic import transform_schema

    from .schema import FollowUpQuestion

    return transform_schema(FollowUpQuestion)
