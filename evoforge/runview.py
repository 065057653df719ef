"""Read-only access to a run, finished or live: what `status`, `best`, `show` and load_run() use."""

from __future__ import annotations

import math
from pathlib import Path
from types import TracebackType
from typing import Any

from evoforge.diffs import unified_diff
from evoforge.errors import StoreError
from evoforge.llm.feedback_report import feedback_status
from evoforge.llm.report import llm_status
from evoforge.records import LLMCall, Program
from evoforge.runlock import is_running
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
        return {
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
            **llm_status(self._store),
            **feedback_status(self._store),
        }

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
