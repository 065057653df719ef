"""The ``prompt`` section of the configuration: templates, variants, context, budget and operators.

Every key is documented in docs/prompts.md and docs/config.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from evoforge.config_base import Strict
from evoforge.prompts.variants import SLOTS

Operator = Literal["diff", "rewrite", "crossover"]
OPERATORS: tuple[Operator, ...] = ("diff", "rewrite", "crossover")
Weight = Annotated[float, Field(gt=0)]


class PromptConfig(Strict):
    system_message: str | None = None
    include_artifacts: bool = True
    max_artifact_chars: int = Field(default=2000, gt=0)
    edit_mode: Literal["diff", "rewrite"] | None = None  # None: diff, unless ``operators`` are given
    show_rejections: bool = True
    # Operators drawn per generation by weight; None: the one operator ``edit_mode`` names.
    operators: dict[Operator, Weight] | None = Field(default=None, min_length=1)
    # Stochastic formatting: per slot, alternatives drawn by weight; a slot left out keeps its first.
    variants: dict[str, dict[str, Weight]] = Field(default_factory=dict)
    include_context: bool = True
    context_files: list[str] = Field(default_factory=list)
    template_dir: str | None = None  # None: the task's prompts/ folder, when it exists
    max_chars: int | None = Field(default=None, gt=0)
    # False: every prompt changes the initial program and shows no other ("no evolution" ablation).
    evolution: bool = True

    @field_validator("variants")
    @classmethod
    def _known_variants(cls, variants: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """A misspelt slot or alternative would silently never be drawn."""
        for slot, weights in variants.items():
            if slot not in SLOTS:
                raise ValueError(f"unknown slot {slot!r}; slots are {', '.join(SLOTS)}")
            unknown = sorted(set(weights) - set(SLOTS[slot]))
            if unknown:
                known = ", ".join(SLOTS[slot])
                raise ValueError(f"{slot}: unknown alternative {unknown[0]!r}; alternatives are {known}")
            if not weights:
                raise ValueError(f"{slot}: give at least one alternative with a weight")
        return variants

    @model_validator(mode="after")
    def _one_way_to_name_operators(self) -> PromptConfig:
        if self.operators is not None and self.edit_mode is not None:
            raise ValueError("set prompt.operators or prompt.edit_mode, not both")
        return self


def operator_weights(config: PromptConfig) -> dict[str, float]:
    """The operators a run draws from, with their weights: ``operators``, else ``edit_mode`` alone."""
    if config.operators is not None:
        return dict(config.operators)
    return {config.edit_mode or "diff": 1.0}
