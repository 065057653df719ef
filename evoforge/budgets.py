"""Stop criteria of a run: iteration budget, target score, wall time, spending, failures, signals."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from evoforge.config import Config
from evoforge.llm.pricing import price_of

MAX_CONSECUTIVE_FAILURES = 200


@dataclass
class Spending:
    """What the run's model calls have cost so far, against its caps (``max_cost_usd`` and kin).

    A call in flight has not reported its tokens yet, so it is counted at the mean of the calls so
    far (before the first, at ``first_call_usd``/``first_call_tokens``: a whole answer of the dearest
    model): a new call may start only if it fits beside them. The run then ends within about one
    call of the cap, having started none that it could not afford as far as it could tell.
    """

    max_cost_usd: float | None = None
    max_tokens: int | None = None
    max_llm_calls: int | None = None
    first_call_usd: float = 0.0
    first_call_tokens: int = 0
    cost_usd: float = 0.0
    tokens: int = 0
    calls: int = 0

    def add(self, cost_usd: float, tokens: int) -> None:
        """Count one finished model call, failed or not."""
        self.cost_usd += cost_usd
        self.tokens += tokens
        self.calls += 1

    def exhausted(self, inflight: int) -> str | None:
        """Why one more call, beside ``inflight`` calls not yet counted, would pass a cap; None if it fits."""
        ahead = inflight + 1
        if self.max_llm_calls is not None and self.calls + ahead > self.max_llm_calls:
            return f"reached the limit of {self.max_llm_calls} model calls"
        if self.max_tokens is not None:
            per_call = self.tokens / self.calls if self.calls else self.first_call_tokens
            if self.tokens + ahead * per_call > self.max_tokens:
                return f"reached the token limit of {self.max_tokens}"
        if self.max_cost_usd is not None:
            per_call = self.cost_usd / self.calls if self.calls else self.first_call_usd
            if self.cost_usd + ahead * per_call > self.max_cost_usd:
                return f"reached the cost limit of ${self.max_cost_usd:g} (spent ${self.cost_usd:.4f})"
        return None

    @classmethod
    def from_config(cls, config: Config, spent: Mapping[str, Mapping[str, float]] | None = None) -> Spending:
        """The caps of ``config``, counting what a resumed run spent (``store.spending_by_model()``)."""
        models = config.llm.models
        rows = (spent or {}).values()
        return cls(
            max_cost_usd=config.max_cost_usd,
            max_tokens=config.max_tokens,
            max_llm_calls=config.max_llm_calls,
            first_call_usd=max((price_of(m).cost(0, m.max_tokens) for m in models), default=0.0),
            first_call_tokens=max((m.max_tokens for m in models), default=0),
            cost_usd=sum(row["cost_usd"] for row in rows),
            tokens=int(sum(row["tokens"] for row in rows)),
            calls=int(sum(row["calls"] for row in rows)),
        )


@dataclass
class Budget:
    """Decides when a run stops. ``iterations`` counts evaluated programs, the initial one included."""

    iterations: int
    target_score: float | None = None
    max_wall_time_s: float | None = None
    spending: Spending = field(default_factory=Spending)
    started: float = field(default_factory=time.monotonic)
    stop_reason: str | None = None

    @classmethod
    def from_config(
        cls,
        config: Config,
        iterations: int | None = None,
        spent: Mapping[str, Mapping[str, float]] | None = None,
    ) -> Budget:
        """The criteria of ``config``; ``spent``: what a resumed run's model calls cost before."""
        return cls(
            iterations=config.iterations if iterations is None else iterations,
            target_score=config.target_score,
            max_wall_time_s=config.max_wall_time_s,
            spending=Spending.from_config(config, spent),
        )

    def request_stop(self, reason: str) -> None:
        """Record the first reason to stop; later reasons do not overwrite it."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def may_call(self, inflight: int) -> bool:
        """Whether a generation may start beside ``inflight`` model calls; if not, stop (gracefully)."""
        reason = self.spending.exhausted(inflight)
        if reason is not None:
            self.request_stop(reason)
        return reason is None

    def update(self, evaluated: int, best_score: float, consecutive_failures: int) -> None:
        """Check every criterion against the current counts and record the first one met."""
        if evaluated >= self.iterations:
            self.request_stop(f"reached {self.iterations} evaluated programs")
        elif self.target_score is not None and math.isfinite(best_score) and best_score >= self.target_score:
            self.request_stop(f"reached the target score {self.target_score:g}")
        elif self.max_wall_time_s is not None and self.elapsed() >= self.max_wall_time_s:
            self.request_stop(f"reached the wall-time limit of {self.max_wall_time_s:g} s")
        elif consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
            self.request_stop(f"{consecutive_failures} generations in a row produced no program to evaluate")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def stopping(self) -> bool:
        return self.stop_reason is not None
