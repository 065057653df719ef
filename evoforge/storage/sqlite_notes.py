"""What the cascade and deduplication add to a program's record, in tables of their own (``stages``,
``fingerprints``; migration in sqlite_schema.py), and the Ray node that evaluated it (``programs.node``),
written in the program's transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

from evoforge.records import Evaluation
from evoforge.storage.sqlite_schema import dumps


def add_notes(db: sqlite3.Connection, program_id: int, evaluation: Evaluation) -> None:
    """The stages its cascade passed and how long each took; its fingerprint and the program whose
    evaluation it reused."""
    if evaluation.stages_passed is not None:
        db.execute(
            "INSERT INTO stages (program_id, passed, times_s) VALUES (?, ?, ?)",
            (program_id, evaluation.stages_passed, dumps(list(evaluation.stage_times_s))),
        )
    if evaluation.fingerprint is not None:
        db.execute(
            "INSERT INTO fingerprints (program_id, fingerprint, duplicate_of) VALUES (?, ?, ?)",
            (program_id, evaluation.fingerprint, evaluation.duplicate_of),
        )
    if evaluation.node is not None:
        db.execute("UPDATE programs SET node = ? WHERE id = ?", (evaluation.node, program_id))


def stage_rows(db: sqlite3.Connection) -> Iterator[tuple[int, list[float]]]:
    """(stages passed, seconds of each stage run) of every program evaluated through a cascade."""
    for passed, times in db.execute("SELECT passed, times_s FROM stages ORDER BY program_id"):
        yield int(passed), [float(t) for t in json.loads(times)]


def fingerprint_rows(db: sqlite3.Connection) -> Iterator[tuple[int, int, str, int | None, bool, float]]:
    """(program id, submission, fingerprint, duplicate_of, ok, score) in submission order."""
    query = (
        "SELECT p.id, p.submission, f.fingerprint, f.duplicate_of, p.ok, p.score FROM fingerprints AS f "
        "JOIN programs AS p ON p.id = f.program_id ORDER BY p.submission, p.id"
    )
    for program_id, submission, fingerprint, duplicate_of, ok, score in db.execute(query):
        yield program_id, submission, fingerprint, duplicate_of, bool(ok), score
