"""The configuration sections of the offline mutators: ``tune``, ``refine`` and ``gp`` (docs/config.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from evoforge.config_base import Strict

MutatorName = Literal["llm", "tune", "refine", "gp"]


class TuneConfig(Strict):
    """CMA-ES over the numeric literals of the EVOLVE blocks (docs/mutators.md)."""

    population: int | None = Field(default=None, ge=2)
    sigma: float = Field(default=0.5, gt=0)
    bound: float = Field(default=10.0, gt=0)
    integers: Literal["round", "float", "skip"] = "round"
    max_literals: int = Field(default=1000, gt=0)
    coordinates_per_run: int = Field(default=200, gt=0)
    separable_above: int = Field(default=100, ge=0)
    generations: int = Field(default=1000, gt=0)
    patience: int = Field(default=20, gt=0)
    max_population: int = Field(default=256, ge=2)
    restarts: Literal["ipop", "bipop"] = "bipop"
    min_improvement: float = Field(default=1e-4, ge=0)


class RefineConfig(Strict):
    """A (1+1)-ES with the one-fifth success rule on the best program's literals (docs/mutators.md)."""

    sigma: float = Field(default=0.01, gt=0)
    coordinates: float = Field(default=2.0, gt=0)


class GPConfig(Strict):
    """AST mutations and crossover of Python blocks (docs/mutators.md)."""

    crossover_rate: float = Field(default=0.2, ge=0, le=1)
    max_tries: int = Field(default=20, gt=0)
