"""The frozen records passed between the parts of evoforge.

Every part speaks in these types so that the controller, the store, the archive and the
sandbox never need to know each other's internals.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

NEG_INF = float("-inf")


@dataclass(frozen=True)
class EvaluationResult:
    """What a user's evaluator may return (OpenEvolve-compatible): metrics plus text artifacts."""

    metrics: dict[str, Any]
    artifacts: dict[str, Any] = field(default_factory=dict)
    solution: Any = None  # search mode: the improved solution (plain JSON data), see search_mode.py


@dataclass(frozen=True)
class Evaluation:
    """What the sandbox hands back for one candidate: validated metrics and the primary score.

    A failed evaluation has ``ok=False``, ``score=-inf`` and the reason in ``error`` (also in
    ``artifacts['error']``).
    """

    metrics: dict[str, float]
    artifacts: dict[str, str]
    score: float
    ok: bool
    error: str | None = None
    duration_s: float = 0.0
    solution: str | None = None  # search mode: the solution the evaluator returned, as JSON text
    # The cascade (evaluation/cascade.py): stages passed and each run stage's seconds; None: no cascade.
    stages_passed: int | None = None
    stage_times_s: tuple[float, ...] = ()
    fingerprint: str | None = None  # digest of the evaluator's fingerprint() (database/dedup.py)
    duplicate_of: int | None = None  # the program whose evaluation this one reuses (same fingerprint)
    node: str | None = None  # the Ray node that ran it (evaluation/ray_backend.py); None: this machine

    @classmethod
    def failure(
        cls, error: str, artifacts: dict[str, str] | None = None, duration_s: float = 0.0
    ) -> Evaluation:
        merged = dict(artifacts or {})
        merged["error"] = error
        return cls(metrics={}, artifacts=merged, score=NEG_INF, ok=False, error=error, duration_s=duration_s)


@dataclass(frozen=True)
class Candidate:
    """A child in flight: proposed code that has not been evaluated yet.

    ``submission`` is the controller's sequence number for the generation attempt that produced
    it; results are applied in submission order so that runs are reproducible.
    """

    submission: int
    code: str
    parent_id: int | None
    inspiration_ids: tuple[int, ...]
    island: int
    generation: int
    mutator: str
    llm_call_id: int | None = None
    repaired: bool = False  # made by a repair follow-up (mutators/repair.py)


@dataclass(frozen=True)
class Program:
    """An evaluated program as stored: immutable once written. ``id`` counts from 0 (the initial program)."""

    id: int
    submission: int
    code: str
    parent_id: int | None
    inspiration_ids: tuple[int, ...]
    island: int
    generation: int
    mutator: str
    metrics: dict[str, float]
    artifacts: dict[str, str]
    score: float
    ok: bool
    features: dict[str, float]
    created_at: float
    eval_time_s: float
    llm_call_id: int | None = None
    repaired: bool = False  # made by a repair follow-up after a failed child (mutators/repair.py)

    @property
    def is_valid(self) -> bool:
        """True when the evaluation succeeded with a finite score (eligible as a parent)."""
        return self.ok and math.isfinite(self.score)


@dataclass(frozen=True)
class LLMCall:
    """One request to a language model, successful or not (never holds an API key)."""

    submission: int
    model: str
    messages: tuple[dict[str, str], ...]
    response: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    error: str | None
    created_at: float
    id: int | None = None
    operator: str = ""  # the edit operator the prompt asked for (diff, rewrite, crossover)
    variant: str = ""  # the prompt's stochastic variant: "role=expert,intent=idea,prior_order=best_first"
    cost_usd: float = 0.0  # from the answer's token counts and the model's price (llm/pricing.py)
    seed: int | None = None  # the seed the request carried: with the messages, what a replay matches


@dataclass(frozen=True)
class FailedGeneration:
    """A generation attempt that produced no program to evaluate, and why.

    ``kind`` is one of ``no_edit`` (nothing parseable), ``edit_rejected`` (parse ok, apply failed),
    a ProviderError kind such as ``rate_limit``, ``server_error``, ``timeout``, ``connection``,
    ``bad_response``, ``empty_content`` (the model call failed; see docs/llm.md), ``duplicate`` (the
    same code as an evaluated program, up to what database/dedup.py normalises), ``too_similar``
    (too close to its island's elites, database/novelty.py), ``cancelled`` (stopped before it finished).
    """

    submission: int
    kind: str
    reason: str
    parent_id: int | None
    created_at: float
    llm_call_id: int | None = None
    duplicate_of: int | None = None  # a ``duplicate``: the program it is structurally identical to


@dataclass(frozen=True)
class RunInfo:
    """Metadata of a run, written once when the run directory is created."""

    task_dir: str
    task_name: str
    config: dict[str, Any]
    seed: int
    created_at: float
    evoforge_version: str


def code_digest(code: str) -> str:
    """A short fingerprint of a program's exact text (duplicate detection, tune's cache)."""
    return hashlib.blake2b(code.encode(), digest_size=16).hexdigest()
