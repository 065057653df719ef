"""Ready-made store contents for tests of the store, resume and crash recovery."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from evoforge.records import Candidate, Evaluation, RunInfo
from evoforge.storage import SQLiteStore

INFO = RunInfo("/tasks/t", "t", {"seed": 3, "llm": {"models": [{"name": "m"}]}}, 3, 1.5, "0.1.0")


def candidate(
    submission: int, code: str = "x = 1\n", parent: int | None = None, call: int | None = None
) -> Candidate:
    """A child of ``parent`` (with program 0 as inspiration when it has a parent)."""
    inspirations = (0,) if parent is not None else ()
    return Candidate(submission, code, parent, inspirations, 1, 2, "llm", call)


def ok(score: float) -> Evaluation:
    """A successful evaluation scoring ``score``."""
    return Evaluation({"combined_score": score, "n": 2.0}, {"note": "fine"}, score, True, None, 0.5)


def fill(run_dir: Path, info: RunInfo, count: int) -> None:
    """A closed run of ``count`` programs."""
    with SQLiteStore.create(run_dir, info) as store, store.transaction():
        for submission in range(count):
            store.add_program(candidate(submission, f"x = {submission}\n" * 20), ok(1.0), {})


def corrupt_programs_table(db_path: Path) -> None:
    """Overwrite the head of the programs table's root page, as a bad disk block would."""
    db = sqlite3.connect(db_path)
    (root,) = db.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'programs'").fetchone()
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    with db_path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * 64)
