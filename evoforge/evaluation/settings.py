"""The configuration of evaluations: limits, record bounds and the evaluation cascade.

Lives beside the sandbox it configures; ``evoforge.config`` re-exports ``EvaluationConfig``.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from evoforge.config_base import Strict

MAX_STAGES = 3  # evaluate_stage1 .. evaluate_stage3, OpenEvolve's names


class CascadeConfig(Strict):
    """Gates between the evaluator's stages (docs/search.md).

    ``thresholds[k]`` is the primary score the merged metrics of stages 1..k+1 must reach for stage
    k+2 to run (a missing threshold lets every child through); ``timeouts_s[k]`` bounds stage k+1
    (missing: only ``evaluation.timeout_s``, which bounds the whole evaluation, applies).
    """

    thresholds: list[float] = Field(default_factory=list, max_length=MAX_STAGES - 1)
    timeouts_s: list[Annotated[float, Field(gt=0)]] = Field(default_factory=list, max_length=MAX_STAGES)

    def for_child(self) -> dict[str, Any]:
        """What the sandbox child receives (plain JSON)."""
        return {"thresholds": list(self.thresholds), "timeouts_s": list(self.timeouts_s)}


class EvaluationConfig(Strict):
    backend: Literal["local", "ray"] = "local"  # ray: on a Ray cluster, the ``ray:`` section (ray_backend.py)
    timeout_s: float = Field(default=60.0, gt=0)
    cpu_s: float | None = Field(default=None, gt=0)
    memory_mb: int = Field(default=2048, gt=0)
    max_output_bytes: int = Field(default=1_000_000, gt=0)
    max_file_mb: int = Field(default=256, gt=0)
    parallel: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), gt=0)
    # What one program's record keeps (docs/config.md): below 1 KiB a cut text is mostly its marker.
    max_stored_output_bytes: int = Field(default=32 * 1024, ge=1024)
    max_artifact_bytes: int = Field(default=32 * 1024, ge=1024)
    max_total_artifact_bytes: int = Field(default=128 * 1024, ge=1024)
    max_metrics: int = Field(default=256, gt=0)
    cascade: CascadeConfig | None = None  # None: evaluate() alone, whatever stages the evaluator defines

    @model_validator(mode="after")
    def _total_holds_one_artifact(self) -> EvaluationConfig:
        if self.max_total_artifact_bytes < self.max_artifact_bytes:
            raise ValueError(
                f"max_total_artifact_bytes ({self.max_total_artifact_bytes}) is less than "
                f"max_artifact_bytes ({self.max_artifact_bytes})"
            )
        return self

    def record_limits(self) -> dict[str, int]:
        """The limits ``contract.bound_record`` applies, as the sandbox child receives them."""
        return {
            "max_metrics": self.max_metrics,
            "max_artifact_bytes": self.max_artifact_bytes,
            "max_total_artifact_bytes": self.max_total_artifact_bytes,
        }
