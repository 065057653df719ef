"""The storage contract every program store fulfils.

A ProgramStore is the single source of truth of a run; the in-memory archive is only an index
rebuilt from it. Every implementation guarantees:

- **Ids.** ``add_program`` assigns program ids 0, 1, 2, … in insertion order (0 is the initial
  program) and returns the stored Program. Ids continue after a reopen. ``add_llm_call`` returns
  the call's id; ids of different record kinds are unrelated.
- **Durability.** Outside ``transaction()``, every ``add_*`` and ``set_state`` is committed when it
  returns: a crash or ``kill -9`` of the process right after loses nothing. Inside
  ``transaction()``, the writes commit together when the outermost block exits, or not at all.
- **Immutability.** Records are never updated or deleted; only the ``state`` key/value map is
  overwritten (controller checkpoints, JSON values), and the ``meta_prompts`` mirror of a population
  kept in that state.
- **Order.** ``programs()`` streams in id order without loading the run into memory;
  ``programs_by_submission()`` and ``failed_generations_by_submission()`` stream in submission
  order, the order in which the controller applies outcomes, so a replay (``evoforge/replay.py``)
  reaches the live run's state.
- **Fidelity.** What is read equals what was written (``get_program(p.id) == p``); failed
  evaluations keep their score of ``-inf``.
- **Concurrency.** One writer per run (the controller, from a single thread); any number of
  read-only readers may open a live run and see every committed record.
- **Errors.** A store that cannot be opened or written raises ``StoreError`` with a one-line message
  naming the run directory or file and what to do; so does a damaged store opened for writing, before
  anything is written, an incomplete one (a table missing) at any open, and a record that cannot be
  decoded when it is read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self

from evoforge.records import Candidate, Evaluation, FailedGeneration, LLMCall, Program, RunInfo


class ProgramStore(ABC):
    """Persistence of one run: programs, model calls, failed generations and controller state."""

    @abstractmethod
    def info(self) -> RunInfo:
        """The run's metadata, written once at creation."""

    @abstractmethod
    def add_program(
        self, candidate: Candidate, evaluation: Evaluation, features: dict[str, float]
    ) -> Program:
        """Store an evaluated candidate under the next id and return it as a Program."""

    @abstractmethod
    def add_llm_call(self, call: LLMCall) -> int:
        """Store a model call (its ``id`` field is ignored) and return its id."""

    @abstractmethod
    def add_failed_generation(self, failure: FailedGeneration) -> None:
        """Record a generation attempt that produced nothing to evaluate."""

    @abstractmethod
    def programs(self, after_id: int = -1) -> Iterator[Program]:
        """Programs with an id above ``after_id``, in id order, streamed."""

    @abstractmethod
    def programs_by_submission(self) -> Iterator[Program]:
        """All programs in submission order (ties, which the controller never makes, by id), streamed."""

    @abstractmethod
    def failed_generations_by_submission(self) -> Iterator[FailedGeneration]:
        """All failed generations, cancelled ones included, in submission order (then insertion
        order), streamed: with ``programs_by_submission`` what a resume replays."""

    @abstractmethod
    def get_program(self, program_id: int) -> Program | None: ...

    @abstractmethod
    def best_program(self) -> Program | None:
        """The successful program with the highest finite score; the oldest one on a tie."""

    @abstractmethod
    def solution_of(self, program_id: int) -> str | None:
        """Search mode: the solution (JSON text) the evaluation of program ``program_id`` returned."""

    @abstractmethod
    def best_solution(self) -> tuple[int, str] | None:
        """Search mode: (program id, solution) of the best-scoring valid program that returned one."""

    @abstractmethod
    def stage_rows(self) -> Iterator[tuple[int, list[float]]]:
        """(stages passed, seconds of each stage run) of each program evaluated through a cascade."""

    @abstractmethod
    def fingerprint_rows(self) -> Iterator[tuple[int, int, str, int | None, bool, float]]:
        """(program id, submission, fingerprint, duplicate_of, ok, score) of each program with a
        fingerprint, in submission order (database/dedup.py)."""

    @abstractmethod
    def count_programs(self) -> int: ...

    @abstractmethod
    def count_failed_generations(self) -> int:
        """Failed generations, cancelled ones excluded."""

    @abstractmethod
    def failed_generation_counts(self) -> dict[str, int]:
        """Failed generations by kind, cancelled ones included."""

    @abstractmethod
    def get_llm_call(self, call_id: int) -> LLMCall | None: ...

    @abstractmethod
    def llm_calls_by_submission(self) -> Iterator[LLMCall]:
        """Every model call, ordered by submission then id."""

    @abstractmethod
    def max_submission(self) -> int:
        """Highest submission number recorded (programs and failures); -1 when empty."""

    @abstractmethod
    def token_totals(self) -> tuple[int, int]:
        """Prompt and completion tokens summed over every model call."""

    @abstractmethod
    def spending_by_model(self) -> dict[str, dict[str, float]]:
        """Per model name: ``calls``, ``tokens`` (prompt + completion) and ``cost_usd`` of its calls."""

    @abstractmethod
    def save_meta_prompts(self, snippets: list[dict[str, Any]]) -> None:
        """Mirror the meta-prompt population (prompts/meta.py ``Snippet`` fields): insert or update each
        snippet, and mark active exactly those given (retired ones stay, for their lineage)."""

    @abstractmethod
    def meta_prompts(self) -> list[dict[str, Any]]:
        """Every snippet ever in the population, by id, with its ``active`` flag."""

    @abstractmethod
    def set_state(self, key: str, value: Any) -> None:
        """Overwrite one controller-state entry; ``value`` must be JSON-able."""

    @abstractmethod
    def get_state(self, key: str, default: Any = None) -> Any: ...

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Group writes into one commit (fewer syncs); nested blocks join the outermost one."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
