"""The configuration of the evolutionary database: grid, selection, islands, novelty, objectives.

Every mechanism beyond the MAP-Elites grid (novelty rejection, several objectives, island resets, a
random migration topology) is off by default; docs/search.md shows each one's keys.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from evoforge.config_base import Strict


class EmbeddingConfig(Strict):
    """An OpenAI-compatible ``/v1/embeddings`` endpoint to embed code with, instead of lexical n-grams."""

    model: str = Field(min_length=1)
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        """The model endpoints' check: a malformed URL is a config error, not a failure mid-run."""
        from evoforge.config import ModelConfig  # config.py imports this module first

        return ModelConfig._http_url(url)


class NoveltyConfig(Strict):
    """Rejection of children too similar to their island's elites (docs/search.md, "Novelty")."""

    enabled: bool = False
    threshold: float = Field(default=0.99, gt=0, le=1)  # cosine similarity at or above it is rejected
    max_resamples: int = Field(default=3, ge=0)  # rejections in a row per island before one is let through
    ngram: int = Field(default=3, gt=0)  # tokens per lexical n-gram
    dimensions: int = Field(default=1024, ge=16)  # hashed buckets of the lexical embedding
    embedding: EmbeddingConfig | None = None


class DatabaseConfig(Strict):
    num_islands: int = Field(default=4, gt=0)
    feature_dimensions: list[str] = Field(default_factory=lambda: ["code_length", "diversity"])
    feature_bins: int = Field(default=10, gt=0)
    exploration_ratio: float = Field(default=0.2, ge=0, le=1)
    exploitation_ratio: float = Field(default=0.7, ge=0, le=1)
    elite_ratio: float = Field(default=0.1, ge=0, le=1)
    num_top_inspirations: int = Field(default=2, ge=0)
    num_diverse_inspirations: int = Field(default=1, ge=0)
    migration_interval: int = Field(default=20, gt=0)
    migration_count: int = Field(default=1, ge=0)
    migration_topology: Literal["ring", "random"] = "ring"
    reset_interval: int | None = Field(default=None, gt=0)  # adds between resets of the weaker half
    pareto_size: int = Field(default=32, ge=2)  # programs an island keeps for its objectives
    novelty: NoveltyConfig = Field(default_factory=NoveltyConfig)

    @model_validator(mode="after")
    def _ratios_sum_to_one(self) -> DatabaseConfig:
        total = self.exploration_ratio + self.exploitation_ratio + self.elite_ratio
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"exploration_ratio + exploitation_ratio + elite_ratio must be 1, got {total:g}")
        return self


class Objective(Strict):
    """One metric to optimise; two or more objectives make each island keep a Pareto front."""

    metric: str = Field(min_length=1)
    direction: Literal["max", "min"] = "max"
