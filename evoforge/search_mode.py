"""Search mode (AlphaEvolve's improvers): evolved programs are search heuristics that improve the best
solution of the run within a time budget, instead of building a solution from nothing each time.

The evaluator returns the verified solution with its metrics (``EvaluationResult(..., solution=obj)``,
see ``improver.py``); the store keeps it with the program that produced it (table ``solutions``), and
every later evaluation receives the best solution of the run so far as a JSON file beside the program.

"Best so far" is the solution of the best program the archive holds when the generation is
submitted, across islands: the archive holds exactly the outcomes of submissions older than the window
(replay.py), so a seeded run hands the same solution to the same submission at any concurrency. When
that program returned no solution, the last one handed out stays in use. A generation that a resume
makes again gets the best solution at the time of the resume.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from evoforge.config_base import Strict
from evoforge.errors import ConfigError
from evoforge.improver import BUDGET_ENV, SOLUTION_ENV

if TYPE_CHECKING:
    from evoforge.evaluation.launcher_handle import Inputs
    from evoforge.records import Program
    from evoforge.storage.base import ProgramStore

NO_SOLUTION = "null"


class SearchModeConfig(Strict):
    """``search_mode:`` in the config; absent (the default), evaluations receive nothing."""

    budget_s: float = Field(default=10.0, gt=0)
    solution_file: str = "best_solution.json"

    @field_validator("solution_file")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        pure = PurePosixPath(name)
        if not name.strip() or len(pure.parts) != 1 or pure.parts[0] in (".", "..") or "\\" in name:
            raise ValueError(f"{name!r} must be a plain file name (it is written beside the program)")
        return name


def check_search_mode(config: SearchModeConfig | None, timeout_s: float, program_files: set[str]) -> None:
    """ConfigError when the budget cannot fit in an evaluation or the file would overwrite the program."""
    if config is None:
        return
    if config.budget_s >= timeout_s:
        raise ConfigError(
            f"search_mode.budget_s ({config.budget_s:g}) must be less than evaluation.timeout_s "
            f"({timeout_s:g}): the evaluation needs time to start the program and verify its solution"
        )
    if config.solution_file in program_files:
        raise ConfigError(f"search_mode.solution_file: {config.solution_file!r} is a file of the program")


class SearchMode:
    """The best solution each submission receives, pinned when it is submitted."""

    def __init__(self, config: SearchModeConfig | None, store: ProgramStore) -> None:
        self._config = config
        self._store = store
        best = store.best_solution() if config is not None else None
        self._current = best[1] if best is not None else NO_SOLUTION
        self._pinned: dict[int, str] = {}

    def pin(self, submission: int, best: Program | None) -> None:
        """Fix what ``submission`` receives: the solution of ``best`` (the archive's best program)."""
        if self._config is None:
            return
        solution = self._store.solution_of(best.id) if best is not None else None
        if solution is not None:
            self._current = solution
        self._pinned[submission] = self._current

    def inputs(self, submission: int) -> Inputs:
        """What ``submission``'s evaluation receives (taken once: the pin is dropped)."""
        return evaluation_inputs(self._config, self._pinned.pop(submission, NO_SOLUTION))


def evaluation_inputs(config: SearchModeConfig | None, solution: str = NO_SOLUTION) -> Inputs:
    """The solution file and the variables naming it and the budget; nothing outside search mode.
    The initial program receives no solution (``null``)."""
    from evoforge.evaluation.launcher_handle import Inputs  # the sandbox's, kept out of config's imports

    if config is None:
        return Inputs()
    env = {SOLUTION_ENV: config.solution_file, BUDGET_ENV: repr(config.budget_s)}
    return Inputs({config.solution_file: solution}, env)
