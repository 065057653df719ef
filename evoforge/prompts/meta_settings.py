"""The ``meta_prompts`` section: a population of instruction snippets that evolves beside the programs."""

from __future__ import annotations

from pydantic import Field

from evoforge.config_base import Strict

DEFAULT_SEEDS = (
    "Make one focused change at a time, and keep the code correct: a small sure gain beats a large gamble.",
    "Look for a better algorithm or data structure rather than tuning constants.",
    "Study the metrics and artifacts of the current program and fix its weakest point first.",
)


class MetaPromptConfig(Strict):
    """Off by default; docs/config.md documents every key, evoforge/prompts/meta.py the mechanism."""

    enabled: bool = False
    seeds: list[str] = Field(default_factory=lambda: list(DEFAULT_SEEDS), min_length=1)
    evolve_every: int = Field(default=10, gt=0)
    population: int = Field(default=8, ge=2)
    min_uses: int = Field(default=3, gt=0)
    explore: float = Field(default=0.2, ge=0, le=1)
    max_chars: int = Field(default=1000, ge=50)
