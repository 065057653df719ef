"""The ``ray:`` section: where evaluations go when ``evaluation.backend`` is ``ray`` (docs/distributed.md).

Plain data only: ray itself is imported by ``ray_backend.py`` when a run uses it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from evoforge.config_base import Strict


class RayConfig(Strict):
    """How evaluations reach a Ray cluster and what each one reserves there."""

    # ``auto``: the cluster this machine belongs to (``ray start``); ``host:port`` of its head;
    # ``ray://host:10001`` through Ray Client; ``local``: a private single-node cluster for this run.
    address: str = Field(default="auto", min_length=1)
    num_cpus_per_eval: float = Field(default=1.0, ge=0)
    num_gpus_per_eval: float = Field(default=0.0, ge=0)
    resources: dict[str, float] = Field(default_factory=dict)  # custom node resources one evaluation needs
    runtime_env: dict[str, Any] = Field(default_factory=dict)  # Ray's runtime_env (pip, env_vars, ...)
    max_retries: int = Field(default=3, ge=0)  # retries of an evaluation whose worker or node died
    unreachable_deadline_s: float = Field(default=300.0, gt=0)  # then the run stops cleanly
    health_check_s: float = Field(default=2.0, gt=0)  # how often the cluster is asked whether it can serve
