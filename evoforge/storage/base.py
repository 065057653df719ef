"""The storage contract every program store fulfils.

A ProgramStore is the single source of truth of a run. Contract:

- ``add_program`` assigns ids 0, 1, 2, … in insertion order and returns the stored Program; when it
  returns, the program is durable (committed), even if the process is killed right after.
- Records are immutable once written; nothing is updated in place except the ``state`` key/value map.
- ``programs()`` streams in id order, so an archive rebuilt from it replays the live run's order.
- One writer per run (the controller); any number of read-only readers may open a live run.
- Scores of failed evaluations are ``-inf`` and come back as ``-inf``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from evoforge.records import Candidate, Evaluation, FailedGeneration, LLMCall, Program, RunInfo


class ProgramStore(ABC):
    @abstractmethod
    def info(self) -> RunInfo: ...

    @abstractmethod
    def add_program(
        self, candidate: Candidate, evaluation: Evaluation, features: dict[str, float]
    ) -> Program: ...

    @abstractmethod
    def add_llm_call(self, call: LLMCall) -> int: ...

    @abstractmethod
    def add_failed_generation(self, failure: FailedGeneration) -> None: ...

    @abstractmethod
    def programs(self, after_id: int = -1) -> Iterator[Program]: ...

    @abstractmethod
    def get_program(self, program_id: int) -> Program | None: ...

    @abstractmethod
    def best_program(self) -> Program | None: ...

    @abstractmethod
    def count_programs(self) -> int: ...

    @abstractmethod
    def count_failed_generations(self) -> int:
        """Failed generations, cancelled ones excluded."""

    @abstractmethod
    def failed_generation_counts(self) -> dict[str, int]: ...

    @abstractmethod
    def get_llm_call(self, call_id: int) -> LLMCall | None: ...

    @abstractmethod
    def max_submission(self) -> int:
        """Highest submission number recorded (programs and failures); -1 when empty."""

    @abstractmethod
    def token_totals(self) -> tuple[int, int]: ...

    @abstractmethod
    def set_state(self, key: str, value: Any) -> None: ...

    @abstractmethod
    def get_state(self, key: str, default: Any = None) -> Any: ...

    @abstractmethod
    def close(self) -> None: ...
