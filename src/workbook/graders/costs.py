"""Token usage, list prices and cost estimates for the Claude grader.

Prices are US dollars per million tokens. The default model's row (Claude Haiku
5.5) comes from two independent pricing trackers that copy Anthropic's pricing
page (PromptFuel v1.0.23 and claudit v1.9.2 release notes, October 2026):
$0.10 input, $0.125 five-minute cache write, $0.01 cache read, $0.50 output,
for prompts up to 100,000 tokens. The Message Batches API halves every rate.
A model without a row gets token counts but no dollar figure.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# model prefix -> (input, cache write, cache read, output) per million tokens
PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-haiku-5-5": (0.10, 0.125, 0.01, 0.50),
    "claude-haiku-4-5": (1.00, 1.25, 0.10, 5.00),
    "claude-sonnet-4-6": (3.00, 3.75, 0.30, 15.00),
    "claude-opus-4-5": (5.00, 6.25, 0.50, 25.00),
}
BATCH_DISCOUNT = 0.5


def price(model: str) -> tuple[float, float, float, float] | None:
    for prefix, row in PRICES.items():
        if model == prefix or model.startswith(prefix + "-"):
            return row
    return None


@dataclass
class Usage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def add(self, other: "Usage") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @classmethod
    def from_sdk(cls, usage) -> "Usage":
        """From a Messages API `usage` object (fields may be None)."""
        return cls(
            1,
            usage.input_tokens or 0,
            usage.output_tokens or 0,
            getattr(usage, "cache_creation_input_tokens", 0) or 0,
            getattr(usage, "cache_read_input_tokens", 0) or 0,
        )

    def cost(self, model: str, batch: bool = False) -> float | None:
        row = price(model)
        if row is None:
            return None
        rate_in, rate_write, rate_read, rate_out = row
        dollars = (
            self.input_tokens * rate_in + self.cache_creation_input_tokens * rate_write
            + self.cache_read_input_tokens * rate_read + self.output_tokens * rate_out
        ) / 1_000_000
        return dollars * (BATCH_DISCOUNT if batch else 1.0)

    def describe(self, model: str, batch: bool = False) -> str:
        cost = self.cost(model, batch)
        dollars = f"${cost:.4f}" if cost is not None else f"cost unknown (no list price for {model})"
        return (
            f"{self.requests} request(s) to {model}: input {self.input_tokens}, output {self.output_tokens}, "
            f"cache writes {self.cache_creation_input_tokens}, cache reads {self.cache_read_input_tokens} tokens; {dollars}"
        )


@dataclass
class Estimate:
    """What a run will cost before it starts: counted input tokens, expected output tokens."""

    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    batch: bool = False

    def cost(self) -> float | None:
        return Usage(self.requests, self.input_tokens, self.output_tokens).cost(self.model, self.batch)

    def describe(self) -> str:
        cost = self.cost()
        dollars = f"about ${cost:.4f}" if cost is not None else f"cost unknown (no list price for {self.model})"
        return (
            f"{self.requests} request(s) to {self.model}{' (batch)' if self.batch else ''}: "
            f"{self.input_tokens} input tokens (counted), about {self.output_tokens} output tokens; {dollars}"
        )
