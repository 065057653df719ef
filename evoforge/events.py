"""Typed events emitted by the controller, and a tiny synchronous bus.

Side effects (console, logs, later the dashboard) subscribe to events instead of living inside
the loop. Subscribers run on the controller's thread and must be cheap: they update state and
leave rendering to their own timers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evoforge.records import FailedGeneration, Program

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunStarted:
    run_dir: Path
    task_name: str
    iterations: int
    evaluated: int
    best_score: float
    resumed: bool
    models: tuple[str, ...]


@dataclass(frozen=True)
class ProgramEvaluated:
    program: Program
    new_best: bool
    evaluated: int
    inflight: int


@dataclass(frozen=True)
class GenerationFailed:
    failure: FailedGeneration
    failed: int


@dataclass(frozen=True)
class TokensUsed:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class RunStopped:
    reason: str
    evaluated: int
    failed: int
    best: Program | None
    best_path: Path | None


Event = RunStarted | ProgramEvaluated | GenerationFailed | TokensUsed | RunStopped
Subscriber = Callable[[Event], None]


class EventBus:
    """Delivers each event to every subscriber; a failing subscriber is logged, never fatal."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", subscriber, type(event).__name__)
