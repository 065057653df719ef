"""What a model call costs: token counts from the answer's ``usage`` times a price per million tokens.

A model's price comes from its config (``price_in_per_mtok``, ``price_out_per_mtok``), else from
``APPROXIMATE_PRICES`` below: list prices in US dollars per million tokens as published by the
providers in 2025, approximate and soon stale (discounts, caching and batch rates are ignored), which
is why a config should set its own. A model found in neither costs 0, said once per model name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from evoforge.llm.settings import ModelConfig

log = logging.getLogger(__name__)

# name prefix -> (input, output) USD per million tokens; the longest matching prefix wins.
APPROXIMATE_PRICES: dict[str, tuple[float, float]] = {
    "gpt-5": (1.25, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.0),
    "gpt-4o-mini": (0.15, 0.60),
    "o3": (2.0, 8.0),
    "o4-mini": (1.10, 4.40),
    "claude-opus-4": (15.0, 75.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-5-haiku": (0.80, 4.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "gemini-2.5-pro": (1.25, 10.0),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.0-flash": (0.10, 0.40),
    "deepseek-chat": (0.27, 1.10),
    "deepseek-reasoner": (0.55, 2.19),
}

_noticed: set[str] = set()  # model names already said to be unpriced, once per process


@dataclass(frozen=True)
class Price:
    """US dollars per million input (prompt) and output (completion) tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok) / 1e6


def approximate_price(name: str) -> tuple[float, float] | None:
    """The table's price of a model name (a provider prefix such as ``openai/`` is ignored), if any."""
    bare = name.rsplit("/", 1)[-1].lower()
    matches = [prefix for prefix in APPROXIMATE_PRICES if bare.startswith(prefix)]
    return APPROXIMATE_PRICES[max(matches, key=len)] if matches else None


def price_of(model: ModelConfig) -> Price:
    """The configured price of ``model``, else the table's, else 0 (noticed once per model name)."""
    configured = (model.price_in_per_mtok, model.price_out_per_mtok)
    table = approximate_price(model.name)
    if table is None and None in configured and model.name not in _noticed:
        _noticed.add(model.name)
        log.info(
            "no price known for model %s: its calls count as free; set llm.models[].price_in_per_mtok "
            "and price_out_per_mtok to count its cost",
            model.name,
        )
    fallback = table or (0.0, 0.0)
    return Price(
        *(own if own is not None else default for own, default in zip(configured, fallback, strict=True))
    )
