"""The SQLite schema of a run and the mapping between records and rows.

The schema evolves by migrations only: a released migration is never edited, a new one is appended,
and ``PRAGMA user_version`` records how many a database has had.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from typing import Any

from evoforge.records import LLMCall, Program

# MIGRATIONS[v] upgrades schema version v to v + 1 (statements split on ';', so none inside one);
# the schema version is their count.
MIGRATIONS = (
    """
    CREATE TABLE run (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        task_dir TEXT NOT NULL, task_name TEXT NOT NULL, config TEXT NOT NULL, seed INTEGER NOT NULL,
        created_at REAL NOT NULL, evoforge_version TEXT NOT NULL
    );
    CREATE TABLE llm_calls (
        id INTEGER PRIMARY KEY, submission INTEGER NOT NULL, model TEXT NOT NULL, messages TEXT NOT NULL,
        response TEXT, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
        latency_s REAL NOT NULL, error TEXT, created_at REAL NOT NULL
    );
    CREATE TABLE programs (
        id INTEGER PRIMARY KEY, submission INTEGER NOT NULL, code TEXT NOT NULL,
        parent_id INTEGER REFERENCES programs (id), inspiration_ids TEXT NOT NULL,
        island INTEGER NOT NULL, generation INTEGER NOT NULL, mutator TEXT NOT NULL,
        metrics TEXT NOT NULL, artifacts TEXT NOT NULL, score REAL NOT NULL, ok INTEGER NOT NULL,
        features TEXT NOT NULL, created_at REAL NOT NULL, eval_time_s REAL NOT NULL,
        llm_call_id INTEGER REFERENCES llm_calls (id)
    );
    CREATE INDEX programs_best ON programs (score DESC, id) WHERE ok = 1;
    CREATE INDEX programs_submission ON programs (submission);
    CREATE TABLE failed_generations (
        id INTEGER PRIMARY KEY, submission INTEGER NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
        parent_id INTEGER REFERENCES programs (id), llm_call_id INTEGER REFERENCES llm_calls (id),
        created_at REAL NOT NULL
    );
    CREATE INDEX failed_generations_submission ON failed_generations (submission);
    CREATE INDEX failed_generations_kind ON failed_generations (kind);
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # search mode (search_mode.py): the solution a program's evaluation returned, as JSON text
    """
    CREATE TABLE solutions (
        program_id INTEGER PRIMARY KEY REFERENCES programs (id), solution TEXT NOT NULL
    );
    """,
)
MIGRATIONS += (
    # the cascade and deduplication (evaluation/stages.py, database/dedup.py): how far each program's
    # cascade got, its fingerprint and the program whose evaluation it reused, and the program a
    # ``duplicate`` failed generation repeats
    """
    CREATE TABLE stages (
        program_id INTEGER PRIMARY KEY REFERENCES programs (id), passed INTEGER NOT NULL,
        times_s TEXT NOT NULL
    );
    CREATE TABLE fingerprints (
        program_id INTEGER PRIMARY KEY REFERENCES programs (id), fingerprint TEXT NOT NULL,
        duplicate_of INTEGER REFERENCES programs (id)
    );
    CREATE INDEX fingerprints_fingerprint ON fingerprints (fingerprint);
    ALTER TABLE failed_generations ADD COLUMN duplicate_of INTEGER;
    """,
    # The edit operator and prompt variant of each model call (docs/prompts.md).
    """
    ALTER TABLE llm_calls ADD COLUMN operator TEXT NOT NULL DEFAULT '';
    ALTER TABLE llm_calls ADD COLUMN variant TEXT NOT NULL DEFAULT '';
    """,
    # Children made by a repair follow-up (mutators/repair.py).
    """
    ALTER TABLE programs ADD COLUMN repaired INTEGER NOT NULL DEFAULT 0;
    """,
    # What each model call cost in US dollars (llm/pricing.py), summed per model by `status --json`; the
    # evolving instruction snippets with their lineage (prompts/meta.py), mirrored from the mutator's state.
    """
    ALTER TABLE llm_calls ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
    CREATE TABLE meta_prompts (
        id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES meta_prompts (id), text TEXT NOT NULL,
        submission INTEGER NOT NULL, created_at REAL NOT NULL, uses INTEGER NOT NULL,
        total_improvement REAL NOT NULL, active INTEGER NOT NULL
    );
    """,
    # The dashboard's reads (evoforge/dashboard/queries.py): children by parent, and narrow covering
    # indexes so that series and aggregates over a big run read megabytes, not every row's code.
    """
    CREATE INDEX programs_parent ON programs (parent_id);
    CREATE INDEX programs_outline ON programs
        (id, ok, score, created_at, parent_id, island, mutator, llm_call_id, features);
    CREATE INDEX llm_calls_outline ON llm_calls
        (id, model, submission, prompt_tokens, completion_tokens, error);
    """,
    # A program's id is its submission number, the same in every seeded run (before: the order of
    # storing, which concurrency changes); ``seq`` keeps that order for readers following a live run.
    # The seed each model request carried, so that a replay answers each request with its own answer.
    """
    ALTER TABLE programs ADD COLUMN seq INTEGER;
    UPDATE programs SET seq = id;
    CREATE INDEX programs_seq ON programs (seq, id, ok, score, created_at, island);
    ALTER TABLE llm_calls ADD COLUMN seed INTEGER;
    """,
    # The Ray node that evaluated each program (evaluation/ray_backend.py); NULL: the run's own machine.
    """
    ALTER TABLE programs ADD COLUMN node TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

PROGRAM_COLUMNS = (
    "id, submission, code, parent_id, inspiration_ids, island, generation, mutator, metrics, "
    "artifacts, score, ok, features, created_at, eval_time_s, llm_call_id, repaired"
)
PROGRAM_SLOTS = ", ".join("?" * len(PROGRAM_COLUMNS.split(",")))  # the placeholders of an INSERT
# The LLMCall fields stored in llm_calls (all but ``id``); ``messages`` is kept as JSON.
LLM_CALL_FIELDS = (
    "submission", "model", "messages", "response", "prompt_tokens", "completion_tokens", "latency_s",
    "error", "created_at", "operator", "variant", "cost_usd", "seed",
)  # fmt: skip
LLM_CALL_COLUMNS = ", ".join(LLM_CALL_FIELDS)
LLM_CALL_SLOTS = ", ".join("?" * len(LLM_CALL_FIELDS))  # the placeholders of an INSERT


def dumps(value: Any) -> str:
    """Compact JSON; infinities (an infeasible metric is -inf) are kept, not refused."""
    return json.dumps(value, separators=(",", ":"), allow_nan=True)


def program_row(p: Program) -> tuple[Any, ...]:
    """The row of ``p`` in PROGRAM_COLUMNS order, which is Program's field order.

    SQLite's REAL holds ``-inf`` exactly, so failed scores need no sentinel (NaN would turn into
    NULL, which the column refuses; the evaluation contract never lets NaN through).
    """
    return (
        p.id, p.submission, p.code, p.parent_id, dumps(p.inspiration_ids), p.island, p.generation,
        p.mutator, dumps(p.metrics), dumps(p.artifacts), p.score, p.ok, dumps(p.features),
        p.created_at, p.eval_time_s, p.llm_call_id, p.repaired,
    )  # fmt: skip


def llm_call_row(call: LLMCall) -> tuple[Any, ...]:
    """The row of ``call`` in LLM_CALL_FIELDS order."""
    return tuple(
        dumps(call.messages) if name == "messages" else getattr(call, name) for name in LLM_CALL_FIELDS
    )


def llm_call_from_row(row: tuple[Any, ...], call_id: int) -> LLMCall:
    """The LLMCall of a row read in LLM_CALL_FIELDS order."""
    values = dict(zip(LLM_CALL_FIELDS, row, strict=True))
    values["messages"] = tuple(json.loads(values["messages"]))
    return LLMCall(**values, id=call_id)


def program_from_row(row: tuple[Any, ...]) -> Program:
    """The Program of a row read in PROGRAM_COLUMNS order."""
    return Program(
        row[0], row[1], row[2], row[3], tuple(json.loads(row[4])), row[5], row[6], row[7],
        json.loads(row[8]), json.loads(row[9]), row[10], bool(row[11]), json.loads(row[12]),
        row[13], row[14], row[15], bool(row[16]),
    )  # fmt: skip


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Bring the schema from ``version`` to SCHEMA_VERSION; the caller holds the transaction."""
    _apply(db, MIGRATIONS[version:])
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _apply(db: sqlite3.Connection, scripts: tuple[str, ...]) -> None:
    for script in scripts:
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)


_TABLE_COLUMNS = (
    "SELECT m.name, c.name FROM sqlite_schema AS m JOIN pragma_table_info(m.name) AS c WHERE m.type = 'table'"
)


def _columns(db: sqlite3.Connection) -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    for table, column in db.execute(_TABLE_COLUMNS):
        tables.setdefault(table, set()).add(column)
    return tables


@functools.cache
def _expected_columns(version: int) -> dict[str, set[str]]:
    """The tables and columns a database of schema ``version`` has, from its migrations."""
    db = sqlite3.connect(":memory:")
    try:
        _apply(db, MIGRATIONS[:version])
        return _columns(db)
    finally:
        db.close()


def missing_schema(db: sqlite3.Connection, version: int) -> str | None:
    """What ``db`` lacks of the tables and columns of schema ``version`` (a dropped table, say); None
    when nothing. Checked on every open, so that damage is named once instead of failing a query later."""
    present = _columns(db)
    expected = _expected_columns(version)
    tables = sorted(set(expected) - set(present))
    if tables:
        return f"table{'s' if len(tables) > 1 else ''} {', '.join(tables)} missing"
    for table, columns in expected.items():
        lacking = sorted(columns - present[table])
        if lacking:
            return f"table {table} lacks column{'s' if len(lacking) > 1 else ''} {', '.join(lacking)}"
    return None
