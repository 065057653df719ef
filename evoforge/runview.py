"""Read-only access to a run, finished or live: what `status`, `best`, `show` and load_run() use."""

from __future__ import annotations

import math
from pathlib import Path
from types import TracebackType
from typing import Any

from evoforge.database.pareto import pareto_front
from evoforge.database.settings import Objective
from evoforge.diffs import unified_diff
from evoforge.errors import StoreError
from evoforge.llm.feedback_report import feedback_status
from evoforge.llm.report import llm_status
from evoforge.records import LLMCall, Program
from evoforge.runlock import is_running
from evoforge.savings import savings
from evoforge.storage import SQLiteStore


class RunView:
    """A read-only window on one run directory; safe to open while the controller writes."""

    def __init__(self, run_dir: Path | str) -> None:
        self.run_dir = Path(run_dir).expanduser().resolve()
        self._store = SQLiteStore.open(self.run_dir, readonly=True)

    def __enter__(self) -> RunView:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._store.close()

    def status(self) -> dict[str, Any]:
        """Counts and the best program, as plain JSON-able data."""
        info = self._store.info()
        best = self._store.best_program()
        failures = self._store.failed_generation_counts()
        cancelled = failures.pop("cancelled", 0)
        prompt_tokens, completion_tokens = self._store.token_totals()
        return (
            {
                "run_dir": str(self.run_dir),
                "task": info.task_name,
                "task_dir": info.task_dir,
                "running": is_running(self.run_dir),
                "iterations": self._store.get_state("iterations", info.config.get("iterations")),
                "evaluated": self._store.count_programs(),
                "failed_generations": sum(failures.values()),
                "failures_by_kind": failures,
                "cancelled": cancelled,
                "best_score": best.score if best is not None and math.isfinite(best.score) else None,
                "best_program_id": best.id if best is not None else None,
                "best_metrics": best.metrics if best is not None else {},
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                **savings(self._store, failures.get("duplicate", 0)),
                **llm_status(self._store),
                **feedback_status(self._store),
            }
            | ({"pareto_front": front} if (front := self.pareto_front()) is not None else {})
            | ({"evaluations_by_node": nodes} if (nodes := self._store.evaluations_by_node()) else {})
        )

    def pareto_front(self) -> list[dict[str, Any]] | None:
        """The programs of the run no other dominates on its objectives, in id order; None with fewer
        than two objectives (the run then has a single score, and its best is the answer)."""
        objectives = [Objective.model_validate(o) for o in self._store.info().config.get("objectives", [])]
        if len(objectives) < 2:
            return None
        return [
            {
                "id": p.id,
                "island": p.island,
                "score": p.score,
                "objectives": {o.metric: p.metrics[o.metric] for o in objectives},
            }
            for p in pareto_front(self._store.programs(), objectives)
        ]

    def best(self) -> Program | None:
        return self._store.best_program()

    def program(self, program_id: int) -> Program:
        program = self._store.get_program(program_id)
        if program is None:
            raise StoreError(f"{self.run_dir}: no program with id {program_id}")
        return program

    def programs(self) -> list[Program]:
        return list(self._store.programs())

    def llm_call(self, call_id: int | None) -> LLMCall | None:
        return self._store.get_llm_call(call_id) if call_id is not None else None

    def diff_to_parent(self, program: Program) -> str | None:
        if program.parent_id is None:
            return None
        parent = self.program(program.parent_id)
        return unified_diff(parent.code, program.code, f"program {parent.id}", f"program {program.id}")


def front_lines(front: list[dict[str, Any]] | None) -> list[str]:
    """The Pareto front as text: a heading, then one line per program with its objectives."""
    if front is None:
        return []
    lines = [f"Pareto front: {len(front)} program{'s' if len(front) != 1 else ''}"]
    for entry in front:
        values = "; ".join(f"{name} {value:.10g}" for name, value in entry["objectives"].items())
        lines.append(f"  program {entry['id']} (island {entry['island']}): {values}")
    return lines
