"""The SQLite program store: one file per run, WAL mode, one writer, any number of read-only readers.

Durability: in WAL mode a commit is complete once its frames are appended to the ``-wal`` file. With
``synchronous=NORMAL`` that append is not fsynced, but it has been handed to the operating system, so
a crash or ``kill -9`` of the process loses no committed program; only an OS crash or power loss may
roll back the last few commits (the database stays consistent either way). That trade buys commits
cheap enough to make every evaluated program its own transaction. WAL also lets readers (`evoforge
status`, the dashboard) read a live run without blocking the writer.

The ``-wal`` file stays small in a run of any length: SQLite copies it back into the database (a
PASSIVE checkpoint, which never waits for readers) after any commit that leaves it holding
WAL_CHECKPOINT_PAGES pages, the file is cut back to WAL_SIZE_LIMIT when the log restarts, and a clean
close ends with a TRUNCATE checkpoint that empties it even while readers stay open. A database opened
for writing is checked first (``PRAGMA integrity_check``) so that a damaged file stops a resume with
one line instead of failing somewhere inside the run. See docs/durability.md.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evoforge.errors import StoreError
from evoforge.records import Candidate, Evaluation, FailedGeneration, LLMCall, Program, RunInfo
from evoforge.runfiles import DB_FILENAME
from evoforge.storage.base import ProgramStore
from evoforge.storage.sqlite_notes import add_notes
from evoforge.storage.sqlite_open import RESTORE, atomic, open_database
from evoforge.storage.sqlite_reports import SQLiteReports
from evoforge.storage.sqlite_schema import (
    LLM_CALL_COLUMNS,
    LLM_CALL_SLOTS,
    PROGRAM_COLUMNS,
    PROGRAM_SLOTS,
    dumps,
    llm_call_from_row,
    llm_call_row,
    migrate,
    program_from_row,
    program_row,
)

log = logging.getLogger(__name__)

_PAGE = 1000  # rows per query while streaming programs
CLOSE_WAIT_MS = 200  # how long the closing checkpoint waits for a reader to finish its read


def _as_program(
    program_id: int, candidate: Candidate, evaluation: Evaluation, features: dict[str, float]
) -> Program:
    return Program(
        id=program_id,
        submission=candidate.submission,
        code=candidate.code,
        parent_id=candidate.parent_id,
        inspiration_ids=tuple(candidate.inspiration_ids),
        island=candidate.island,
        generation=candidate.generation,
        mutator=candidate.mutator,
        metrics=dict(evaluation.metrics),
        artifacts=dict(evaluation.artifacts),
        score=evaluation.score,
        ok=evaluation.ok,
        features=dict(features),
        created_at=time.time(),
        eval_time_s=evaluation.duration_s,
        llm_call_id=candidate.llm_call_id,
        repaired=candidate.repaired,
    )


def _write_new_database(
    path: Path,
    info: RunInfo,
    initial: Program | None,
    solution: str | None = None,
    evaluation: Evaluation | None = None,
) -> None:
    """Schema, run record and initial program in one transaction (rollback journal: no WAL files yet).

    One transaction, so a crash leaves either no run or a run that can be resumed.
    """
    db = sqlite3.connect(path, isolation_level=None)
    try:
        with atomic(db):
            migrate(db, 0)
            db.execute(
                "INSERT INTO run VALUES (0, ?, ?, ?, ?, ?, ?)",
                (info.task_dir, info.task_name, dumps(info.config), info.seed, info.created_at,
                 info.evoforge_version),
            )  # fmt: skip
            if initial is not None:
                db.execute(
                    f"INSERT INTO programs ({PROGRAM_COLUMNS}, seq) VALUES ({PROGRAM_SLOTS}, 0)",
                    program_row(initial),
                )
                _add_solution(db, initial.id, solution)
                if evaluation is not None:
                    add_notes(db, initial.id, evaluation)
    finally:
        db.close()


def _add_solution(db: sqlite3.Connection, program_id: int, solution: str | None) -> None:
    if solution is not None:
        db.execute("INSERT INTO solutions (program_id, solution) VALUES (?, ?)", (program_id, solution))


class SQLiteStore(SQLiteReports, ProgramStore):
    """A run's database at ``<run_dir>/evoforge.db``; see ProgramStore for the contract."""

    def __init__(self, db: sqlite3.Connection, path: Path, *, writer: bool) -> None:
        self._db = db
        self.path = path
        self._writer = writer
        self._next_seq = self._count_seq()

    @classmethod
    def create(
        cls,
        run_dir: Path,
        info: RunInfo,
        initial: tuple[Candidate, Evaluation, dict[str, float]] | None = None,
    ) -> SQLiteStore:
        """Create ``run_dir`` (mode 0700) and its database (mode 0600) holding ``info`` and ``initial``.

        A run holds prompts, code and model answers, so its directory is private: made 0700, or
        narrowed to 0700 when it exists empty (a non-empty one, such as ``.``, is left as it is).
        SQLite gives the -wal and -shm files the database's mode. The database is built under a
        temporary name and linked into place complete, so a reader polling the run directory never
        finds a half-made run, and two creators cannot both win.
        """
        path = run_dir / DB_FILENAME
        taken = StoreError(f"{run_dir} already holds a run ({DB_FILENAME})")
        if path.exists():
            raise taken
        try:
            run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not any(run_dir.iterdir()):
                run_dir.chmod(0o700)
            handle, name = tempfile.mkstemp(prefix=".evoforge-", suffix=".db", dir=run_dir)  # mode 0600
            os.close(handle)
        except OSError as error:
            raise StoreError(f"{run_dir}: cannot create the run: {error.strerror}") from None
        draft = Path(name)
        try:
            program, solution = (_as_program(0, *initial), initial[1].solution) if initial else (None, None)
            _write_new_database(draft, info, program, solution, initial[1] if initial else None)
            os.link(draft, path)
        except FileExistsError:
            raise taken from None
        except (OSError, sqlite3.DatabaseError) as error:
            raise StoreError(f"{path}: cannot create the database: {error}") from None
        finally:
            draft.unlink(missing_ok=True)
        return cls.open(run_dir)

    @classmethod
    def open(cls, run_dir: Path, readonly: bool = False) -> SQLiteStore:
        """Open an existing run, upgrading an older schema; a read-only store may sit beside the writer."""
        path = run_dir / DB_FILENAME
        if not path.is_file():
            raise StoreError(f"no evoforge run in {run_dir}")
        db = open_database(path, readonly)
        try:
            return cls(db, path, writer=not readonly)
        except sqlite3.DatabaseError as error:  # damage met by a reader, which skips the check
            db.close()
            raise StoreError(f"{path}: the database is corrupt: {error}") from None

    def close(self) -> None:
        """Close; a writer first empties the -wal file, waiting briefly for a reader mid-read."""
        if self._writer:
            try:
                self._db.execute(f"PRAGMA busy_timeout = {CLOSE_WAIT_MS}")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError as error:  # the commits are safe in the -wal file regardless
                log.debug("%s: no checkpoint at close: %s", self.path, error)
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit every write of the block at once, or none if it raises; an inner block joins the outer."""
        if self._db.in_transaction:
            yield
            return
        try:
            with self._writing(), atomic(self._db):
                yield
        except BaseException:
            self._next_seq = self._count_seq()
            raise

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Turn environment failures of a write (disk full, read-only file) into a StoreError."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise  # a broken reference is a bug in the caller, not the environment
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: cannot write: {error}") from None

    @contextmanager
    def _decoding(self, record: str) -> Iterator[None]:
        """A stored record that is not valid JSON (edited by hand, damaged) is named as such."""
        try:
            yield
        except json.JSONDecodeError as error:
            raise StoreError(f"{self.path}: {record} is not valid JSON ({error}): {RESTORE}") from None

    def _count_seq(self) -> int:
        # NOT INDEXED: read the table's own last page (not a covering index), so that a reader opening a
        # damaged table is told at once.
        query = "SELECT COALESCE(MAX(seq) + 1, 0) FROM programs NOT INDEXED"
        return int(self._db.execute(query).fetchone()[0])

    def info(self) -> RunInfo:
        row = self._db.execute(
            "SELECT task_dir, task_name, config, seed, created_at, evoforge_version FROM run"
        ).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: the run record is missing: {RESTORE}")
        with self._decoding("the run's stored config"):
            config = json.loads(row[2])
        if not isinstance(config, dict):
            raise StoreError(f"{self.path}: the run's stored config is not a JSON object: {RESTORE}")
        return RunInfo(row[0], row[1], config, row[3], row[4], row[5])

    def add_program(
        self, candidate: Candidate, evaluation: Evaluation, features: dict[str, float]
    ) -> Program:
        """Store ``candidate``'s program under its submission number: a seeded run stores the same ids at
        any concurrency. ``seq`` counts programs in the order they were stored, for readers that
        follow a live run (the dashboard)."""
        program = _as_program(candidate.submission, candidate, evaluation, features)
        with self._writing():
            self._db.execute(
                f"INSERT INTO programs ({PROGRAM_COLUMNS}, seq) VALUES ({PROGRAM_SLOTS}, ?)",
                (*program_row(program), self._next_seq),
            )
            _add_solution(self._db, program.id, evaluation.solution)
            add_notes(self._db, program.id, evaluation)
        self._next_seq += 1
        return program

    def add_llm_call(self, call: LLMCall) -> int:
        with self._writing():
            cursor = self._db.execute(
                f"INSERT INTO llm_calls ({LLM_CALL_COLUMNS}) VALUES ({LLM_CALL_SLOTS})",
                llm_call_row(call),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def add_failed_generation(self, failure: FailedGeneration) -> None:
        with self._writing():
            self._db.execute(
                "INSERT INTO failed_generations "
                "(submission, kind, reason, parent_id, llm_call_id, created_at, duplicate_of) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (failure.submission, failure.kind, failure.reason, failure.parent_id,
                 failure.llm_call_id, failure.created_at, failure.duplicate_of),
            )  # fmt: skip

    def programs(self, after_id: int = -1) -> Iterator[Program]:
        return self._stream("id", (after_id,), lambda p: (p.id,))

    def programs_by_submission(self) -> Iterator[Program]:
        return self._stream("submission, id", (-1, -1), lambda p: (p.submission, p.id))

    def _stream(
        self, order: str, after: tuple[int, ...], key: Callable[[Program], tuple[int, ...]]
    ) -> Iterator[Program]:
        """Page through programs by ``order``, a unique key that ``key`` reads off a program.

        Paging keeps memory flat and holds no read transaction open while the caller works.
        """
        marks = ", ".join("?" * len(after))
        query = f"SELECT {PROGRAM_COLUMNS} FROM programs WHERE ({order}) > ({marks}) ORDER BY {order} LIMIT ?"
        while True:
            with self._decoding("a program's record"):
                page = [program_from_row(row) for row in self._db.execute(query, (*after, _PAGE))]
            yield from page
            if len(page) < _PAGE:
                return
            after = key(page[-1])

    def failed_generations_by_submission(self) -> Iterator[FailedGeneration]:
        query = (
            "SELECT submission, id, kind, reason, parent_id, created_at, llm_call_id, duplicate_of "
            "FROM failed_generations "
            "WHERE (submission, id) > (?, ?) ORDER BY submission, id LIMIT ?"
        )
        after = (-1, -1)
        while True:
            page = self._db.execute(query, (*after, _PAGE)).fetchall()
            for submission, _, *rest in page:
                yield FailedGeneration(submission, *rest)
            if len(page) < _PAGE:
                return
            after = page[-1][:2]

    def get_program(self, program_id: int) -> Program | None:
        row = self._db.execute(
            f"SELECT {PROGRAM_COLUMNS} FROM programs WHERE id = ?", (program_id,)
        ).fetchone()
        if row is None:
            return None
        with self._decoding(f"the record of program {row[0]}"):
            return program_from_row(row)

    def best_program(self) -> Program | None:
        row = self._db.execute(
            f"SELECT {PROGRAM_COLUMNS} FROM programs WHERE ok = 1 AND score > ? ORDER BY score DESC, id "
            "LIMIT 1",
            (-math.inf,),
        ).fetchone()
        if row is None:
            return None
        with self._decoding(f"the record of program {row[0]}"):
            return program_from_row(row)

    def count_programs(self) -> int:
        return self._scalar("SELECT COUNT(*) FROM programs")

    def count_failed_generations(self) -> int:
        return self._scalar("SELECT COUNT(*) FROM failed_generations WHERE kind != 'cancelled'")

    def failed_generation_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT kind, COUNT(*) FROM failed_generations GROUP BY kind ORDER BY kind")
        return {kind: int(count) for kind, count in rows}

    def get_llm_call(self, call_id: int) -> LLMCall | None:
        row = self._db.execute(
            f"SELECT {LLM_CALL_COLUMNS}, id FROM llm_calls WHERE id = ?", (call_id,)
        ).fetchone()
        if row is None:
            return None
        with self._decoding(f"the record of model call {call_id}"):
            return llm_call_from_row(row[:-1], row[-1])

    def llm_calls_by_submission(self) -> Iterator[LLMCall]:
        """Every model call, in submission order (a replay serves the answers from them)."""
        rows = self._db.execute(f"SELECT {LLM_CALL_COLUMNS}, id FROM llm_calls ORDER BY submission, id")
        for row in rows.fetchall():
            with self._decoding(f"the record of model call {row[-1]}"):
                yield llm_call_from_row(row[:-1], row[-1])

    def max_submission(self) -> int:
        """The last submission number used: a model call cut off by a crash counts, never reused."""
        return self._scalar(
            "SELECT MAX(COALESCE((SELECT MAX(submission) FROM programs), -1), "
            "COALESCE((SELECT MAX(submission) FROM failed_generations), -1), "
            "COALESCE((SELECT MAX(submission) FROM llm_calls), -1))"
        )

    def set_state(self, key: str, value: Any) -> None:
        with self._writing():
            self._db.execute(
                "INSERT INTO state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, dumps(value)),
            )

    def get_state(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        with self._decoding(f"the stored state {key!r}"):
            return json.loads(row[0]) if row else default

    def _scalar(self, query: str) -> int:
        return int(self._db.execute(query).fetchone()[0])
