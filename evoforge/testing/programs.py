"""Program records and run tables for tests of the mutators and of resume."""

from __future__ import annotations

from pathlib import Path

import evoforge
from evoforge.records import Program

TOY = Path(__file__).resolve().parents[2] / "examples" / "toy_constant"


def program(code: str, submission: int, score: float) -> Program:
    """A stored program as the mutators see it, with id equal to its submission."""
    return Program(
        id=submission, submission=submission, code=code, parent_id=None, inspiration_ids=(), island=0,
        generation=0, mutator="tune", metrics={}, artifacts={}, score=score, ok=True, features={},
        created_at=0.0, eval_time_s=0.0,
    )  # fmt: skip


def program_table(run_dir: Path) -> list[tuple[object, ...]]:
    """A run's programs by submission: (submission, code, parent's submission, mutator); ids left out."""
    with evoforge.load_run(run_dir) as run:
        programs = run.programs()
    submission_of = {p.id: p.submission for p in programs}
    return sorted((p.submission, p.code, submission_of.get(p.parent_id), p.mutator) for p in programs)
