"""Stop criteria of a run: iteration budget, target score, wall time, failures, signals."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from evoforge.config import Config

MAX_CONSECUTIVE_FAILURES = 200


@dataclass
class Budget:
    """Decides when a run stops. ``iterations`` counts evaluated programs, the initial one included."""

    iterations: int
    target_score: float | None = None
    max_wall_time_s: float | None = None
    started: float = field(default_factory=time.monotonic)
    stop_reason: str | None = None

    @classmethod
    def from_config(cls, config: Config, iterations: int | None = None) -> Budget:
        return cls(
            iterations=config.iterations if iterations is None else iterations,
            target_score=config.target_score,
            max_wall_time_s=config.max_wall_time_s,
        )

    def request_stop(self, reason: str) -> None:
        """Record the first reason to stop; later reasons do not overwrite it."""
        if self.stop_reason is None:
            self.stop_reason = reason

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
