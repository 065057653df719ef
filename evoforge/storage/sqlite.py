"""The SQLite program store: one file per run, WAL mode, one writer, read-only readers.

WAL with ``synchronous=NORMAL`` makes every commit survive a crash or ``kill -9`` of the writer
(the WAL is written before the commit returns; only a power loss may drop the last commits), and
readers never block the writer, so `evoforge status` and dashboards can read a live run.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from evoforge.errors import StoreError
from evoforge.records import Candidate, Evaluation, FailedGeneration, LLMCall, Program, RunInfo
from evoforge.storage.base import ProgramStore

DB_FILENAME = "evoforge.db"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE run (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    task_dir TEXT NOT NULL, task_name TEXT NOT NULL, config TEXT NOT NULL,
    seed INTEGER NOT NULL, created_at REAL NOT NULL, evoforge_version TEXT NOT NULL
);
CREATE TABLE programs (
    id INTEGER PRIMARY KEY, submission INTEGER NOT NULL, code TEXT NOT NULL, parent_id INTEGER,
    inspiration_ids TEXT NOT NULL, island INTEGER NOT NULL, generation INTEGER NOT NULL,
    mutator TEXT NOT NULL, metrics TEXT NOT NULL, artifacts TEXT NOT NULL, score REAL,
    ok INTEGER NOT NULL, features TEXT NOT NULL, created_at REAL NOT NULL, eval_time_s REAL NOT NULL,
    llm_call_id INTEGER
);
CREATE INDEX programs_score ON programs (ok, score DESC, id);
CREATE TABLE llm_calls (
    id INTEGER PRIMARY KEY, submission INTEGER NOT NULL, model TEXT NOT NULL, messages TEXT NOT NULL,
    response TEXT, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    latency_s REAL NOT NULL, error TEXT, created_at REAL NOT NULL
);
CREATE TABLE failed_generations (
    id INTEGER PRIMARY KEY, submission INTEGER NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
    parent_id INTEGER, llm_call_id INTEGER, created_at REAL NOT NULL
);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_PROGRAM_COLUMNS = (
    "id, submission, code, parent_id, inspiration_ids, island, generation, mutator, metrics, "
    "artifacts, score, ok, features, created_at, eval_time_s, llm_call_id"
)


def _score_in(score: float) -> float | None:
    """SQLite turns -inf into NULL on some paths; store failures as NULL explicitly."""
    return score if math.isfinite(score) else None


def _program(row: tuple[Any, ...]) -> Program:
    return Program(
        id=row[0],
        submission=row[1],
        code=row[2],
        parent_id=row[3],
        inspiration_ids=tuple(json.loads(row[4])),
        island=row[5],
        generation=row[6],
        mutator=row[7],
        metrics=json.loads(row[8]),
        artifacts=json.loads(row[9]),
        score=row[10] if row[10] is not None else -math.inf,
        ok=bool(row[11]),
        features=json.loads(row[12]),
        created_at=row[13],
        eval_time_s=row[14],
        llm_call_id=row[15],
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=True)


class SQLiteStore(ProgramStore):
    """A run's database at ``<run_dir>/evoforge.db``."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._next_id = self._db.execute("SELECT COALESCE(MAX(id) + 1, 0) FROM programs").fetchone()[0]

    @classmethod
    def create(cls, run_dir: Path, info: RunInfo) -> SQLiteStore:
        """Create the run directory (0700) and its database (0600) holding ``info``."""
        path = run_dir / DB_FILENAME
        if path.exists():
            raise StoreError(f"{run_dir} already holds a run")
        try:
            run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except OSError as error:
            raise StoreError(f"{run_dir}: cannot create the run directory: {error.strerror}") from None
        db = cls._connect(path, readonly=False)
        with db:
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute(
                "INSERT INTO run VALUES (0, ?, ?, ?, ?, ?, ?)",
                (
                    info.task_dir,
                    info.task_name,
                    _dumps(info.config),
                    info.seed,
                    info.created_at,
                    info.evoforge_version,
                ),
            )
        return cls(db, path)

    @classmethod
    def open(cls, run_dir: Path, readonly: bool = False) -> SQLiteStore:
        """Open an existing run; read-only readers may run beside the live writer."""
        path = run_dir / DB_FILENAME
        if not path.is_file():
            raise StoreError(f"{run_dir}: no evoforge run here (no {DB_FILENAME})")
        db = cls._connect(path, readonly=readonly)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            db.close()
            raise StoreError(f"{path}: database from a newer evoforge (schema {version} > {SCHEMA_VERSION})")
        if version < 1:
            db.close()
            raise StoreError(f"{path}: not an evoforge database")
        return cls(db, path)

    @staticmethod
    def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
        try:
            if readonly:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            else:
                db = sqlite3.connect(path, timeout=10)
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA busy_timeout = 10000")
            return db
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path}: cannot open the database: {error}") from None

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def info(self) -> RunInfo:
        row = self._db.execute(
            "SELECT task_dir, task_name, config, seed, created_at, evoforge_version FROM run"
        ).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: the run record is missing")
        return RunInfo(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5])

    def add_program(
        self, candidate: Candidate, evaluation: Evaluation, features: dict[str, float]
    ) -> Program:
        import time

        program = Program(
            id=self._next_id,
            submission=candidate.submission,
            code=candidate.code,
            parent_id=candidate.parent_id,
            inspiration_ids=candidate.inspiration_ids,
            island=candidate.island,
            generation=candidate.generation,
            mutator=candidate.mutator,
            metrics=evaluation.metrics,
            artifacts=evaluation.artifacts,
            score=evaluation.score,
            ok=evaluation.ok,
            features=features,
            created_at=time.time(),
            eval_time_s=evaluation.duration_s,
            llm_call_id=candidate.llm_call_id,
        )
        with self._db:
            self._db.execute(
                f"INSERT INTO programs ({_PROGRAM_COLUMNS}) VALUES ({', '.join('?' * 16)})",
                (
                    program.id,
                    program.submission,
                    program.code,
                    program.parent_id,
                    _dumps(list(program.inspiration_ids)),
                    program.island,
                    program.generation,
                    program.mutator,
                    _dumps(program.metrics),
                    _dumps(program.artifacts),
                    _score_in(program.score),
                    int(program.ok),
                    _dumps(program.features),
                    program.created_at,
                    program.eval_time_s,
                    program.llm_call_id,
                ),
            )
        self._next_id += 1
        return program

    def add_llm_call(self, call: LLMCall) -> int:
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO llm_calls (submission, model, messages, response, prompt_tokens, "
                "completion_tokens, latency_s, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    call.submission,
                    call.model,
                    _dumps(list(call.messages)),
                    call.response,
                    call.prompt_tokens,
                    call.completion_tokens,
                    call.latency_s,
                    call.error,
                    call.created_at,
                ),
            )
        return int(cursor.lastrowid or 0)

    def add_failed_generation(self, failure: FailedGeneration) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO failed_generations "
                "(submission, kind, reason, parent_id, llm_call_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    failure.submission,
                    failure.kind,
                    failure.reason,
                    failure.parent_id,
                    failure.llm_call_id,
                    failure.created_at,
                ),
            )

    def programs(self, after_id: int = -1) -> Iterator[Program]:
        cursor = self._db.execute(
            f"SELECT {_PROGRAM_COLUMNS} FROM programs WHERE id > ? ORDER BY id", (after_id,)
        )
        for row in cursor:
            yield _program(row)

    def get_program(self, program_id: int) -> Program | None:
        row = self._db.execute(
            f"SELECT {_PROGRAM_COLUMNS} FROM programs WHERE id = ?", (program_id,)
        ).fetchone()
        return _program(row) if row else None

    def best_program(self) -> Program | None:
        row = self._db.execute(
            f"SELECT {_PROGRAM_COLUMNS} FROM programs WHERE ok = 1 AND score IS NOT NULL "
            "ORDER BY score DESC, id LIMIT 1"
        ).fetchone()
        return _program(row) if row else None

    def count_programs(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM programs").fetchone()[0])

    def count_failed_generations(self) -> int:
        query = "SELECT COUNT(*) FROM failed_generations WHERE kind != 'cancelled'"
        return int(self._db.execute(query).fetchone()[0])

    def failed_generation_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT kind, COUNT(*) FROM failed_generations GROUP BY kind ORDER BY kind")
        return {kind: int(count) for kind, count in rows}

    def get_llm_call(self, call_id: int) -> LLMCall | None:
        row = self._db.execute(
            "SELECT submission, model, messages, response, prompt_tokens, completion_tokens, latency_s, "
            "error, "
            "created_at, id FROM llm_calls WHERE id = ?",
            (call_id,),
        ).fetchone()
        if row is None:
            return None
        return LLMCall(
            row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5], row[6], row[7], row[8], row[9]
        )

    def max_submission(self) -> int:
        row = self._db.execute(
            "SELECT MAX(m) FROM (SELECT MAX(submission) AS m FROM programs "
            "UNION ALL SELECT MAX(submission) FROM failed_generations)"
        ).fetchone()
        return -1 if row[0] is None else int(row[0])

    def token_totals(self) -> tuple[int, int]:
        row = self._db.execute(
            "SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) FROM llm_calls"
        ).fetchone()
        return int(row[0]), int(row[1])

    def set_state(self, key: str, value: Any) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, _dumps(value)))

    def get_state(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default
