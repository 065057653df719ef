"""Opening a run's SQLite database, and every check made before the store uses it.

What can be wrong with a run directory is found here, at open, and said in one line naming the file
and what to do: a file that is not a database, a schema from another evoforge version, a table
someone dropped, damage (``PRAGMA integrity_check``, for writers), or a directory or file this user
cannot write (for writers). A query failing half-way through a command would say much less.

A read-only directory can still be read: SQLite needs to create ``evoforge.db-shm`` beside a WAL
database to read it, so where that is impossible and no write-ahead log is left (a run that was
closed), the file is opened as immutable; nothing can change it, as no writer can work there either.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evoforge.errors import StoreError
from evoforge.storage.sqlite_schema import SCHEMA_VERSION, migrate, missing_schema

BUSY_TIMEOUT_S = 10.0  # how long a reader waits on a lock (sqlite3's busy_timeout)
WAL_CHECKPOINT_PAGES = 1000  # a PASSIVE checkpoint once the -wal file holds this many pages (~4 MB)
WAL_SIZE_LIMIT = 4 << 20  # bytes of -wal file kept for reuse after the log restarts
RESTORE = "restore the run directory from a copy"


def open_database(path: Path, readonly: bool) -> sqlite3.Connection:
    """Open the run database ``path`` after the checks above; a writer gets WAL mode and the latest
    schema. Raises StoreError naming ``path``."""
    db, version = _connect(path, readonly)
    try:
        problem = _problem(db, path, version, readonly)
        if problem is None and not readonly:
            _use_wal(db)
            if version < SCHEMA_VERSION:
                with atomic(db):
                    migrate(db, version)
    except sqlite3.DatabaseError as error:
        problem = f"cannot open the database{' for writing' if not readonly else ''}: {error}"
    if problem is not None:
        db.close()
        raise StoreError(f"{path}: {problem}")
    return db


def _problem(db: sqlite3.Connection, path: Path, version: int, readonly: bool) -> str | None:
    """Why the database cannot serve (as a reader, or as the run's writer); None when it can."""
    if version > SCHEMA_VERSION:
        return f"database from a newer evoforge (schema {version} > {SCHEMA_VERSION})"
    if version == 0:
        return "not an evoforge database"
    if version < SCHEMA_VERSION and readonly:
        return f"database from an older evoforge (schema {version}); resume the run once to upgrade it"
    if (missing := missing_schema(db, version)) is not None:
        return f"not a complete evoforge run ({missing}): {RESTORE}"
    if readonly:
        return None
    if not os.access(path, os.W_OK):
        return read_only("database")
    if (damage := _first_problem(db)) is not None:
        return f"the database is corrupt: {damage}"
    return None


def read_only(what: str) -> str:
    """The message for a run directory or database that cannot be written (the caller names the path)."""
    return (
        f"the {what} is read-only for this user, and resuming writes to it: make it writable or copy "
        "the run directory elsewhere (status, best and show can read it as it is)"
    )


def _connect(path: Path, readonly: bool) -> tuple[sqlite3.Connection, int]:
    """Open ``path`` (never creating it) and return the connection and its schema version."""
    try:
        return _connect_uri(path, "ro" if readonly else "rw")
    except sqlite3.DatabaseError as error:
        if not readonly or os.access(path.parent, os.W_OK):
            raise StoreError(f"{path}: cannot open the database: {error}") from None
    wal = path.with_name(f"{path.name}-wal")
    if wal.exists():
        raise StoreError(
            f"{path}: cannot read the run in a read-only directory while its write-ahead log ({wal.name}) "
            "is there: copy the run directory somewhere writable"
        )
    try:
        return _connect_uri(path, "ro&immutable=1")
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: cannot open the database: {error}") from None


def _connect_uri(path: Path, mode: str) -> tuple[sqlite3.Connection, int]:
    db = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode={mode}",
        uri=True,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,  # autocommit: each write is its own transaction unless atomic() opened one
    )
    try:
        db.execute("PRAGMA foreign_keys = ON")
        return db, int(db.execute("PRAGMA user_version").fetchone()[0])
    except BaseException:
        db.close()
        raise


def _use_wal(db: sqlite3.Connection) -> None:
    """WAL mode (persistent in the file), commits that survive a crash of the process, a bounded -wal."""
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    db.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")


def _first_problem(db: sqlite3.Connection) -> str | None:
    """The first problem ``PRAGMA integrity_check`` reports, on one line; None for a sound database."""
    try:
        report = str(db.execute("PRAGMA integrity_check(1)").fetchone()[0])
    except sqlite3.DatabaseError as error:  # damage that stops the check itself
        return str(error)
    if report == "ok":
        return None
    lines = [line.strip() for line in report.splitlines() if line.strip() and not line.startswith("***")]
    return " ".join(lines) or report


@contextmanager
def atomic(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken up front so that it never fails half-way on a lock."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.rollback()
        raise
