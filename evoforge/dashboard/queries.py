"""Every read the dashboard and the report make of a run's database, in SQL, in one place.

The connection is read-only (``mode=ro``, through the same checks as every other reader), so nothing
here can change a run, and WAL lets it read while the controller writes. Aggregates are computed by
SQLite and long series are downsampled in SQL, so a 100k-program run costs the page a few thousand
rows. Columns and tables that other parts of evoforge add over time are read when the database has
them and left out when it does not (``extra_columns``, ``optional_table``): a new field is wired in
here, once, for every view and the API.

Non-finite numbers (a failed program scores ``-inf``) are returned as ``None``: strict JSON has none.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evoforge.dashboard import aggregates
from evoforge.dashboard.aggregates import clean, finite, loads
from evoforge.database.features import FeatureReference, cell_of
from evoforge.diffs import unified_diff
from evoforge.errors import StoreError
from evoforge.runfiles import DB_FILENAME
from evoforge.runlock import is_running
from evoforge.storage.sqlite_open import open_database
from evoforge.storage.sqlite_schema import LLM_CALL_COLUMNS, PROGRAM_COLUMNS

MAX_SERIES_POINTS = 4000  # a longer score series is downsampled to about this many buckets
MAX_LINEAGE_NODES = 400  # descendants shown under a program, beyond its ancestors
MAX_EVENTS = 200  # rows of an optional event table
CACHE_KIB = 65536  # SQLite page cache per connection: the narrow indexes of a 100k run fit
_BASE_PROGRAM_COLUMNS = frozenset(name.strip() for name in PROGRAM_COLUMNS.split(","))
_BASE_CALL_COLUMNS = frozenset(["id", *(name.strip() for name in LLM_CALL_COLUMNS.split(","))])
# Tables other branches add (island resets and migrations, Pareto fronts): shown when present.
OPTIONAL_EVENT_TABLES = ("island_events", "migrations", "events")


class RunReader:
    """Read-only queries over one run directory; one SQLite connection per thread (sqlite3's rule)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / DB_FILENAME
        if not self.path.is_file():
            raise StoreError(f"no evoforge run in {run_dir}")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
        self._grid: dict[tuple[int, int, int], tuple[float, int]] = {}  # (island, x, y) -> (score, id)
        self._grid_seen = -1  # the last program id folded into _grid
        self._grid_lock = threading.Lock()
        with self.snapshot() as db:  # fail now, in one line, when the directory holds no usable run
            self._columns = {
                table: {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                for (table,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
            }

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = open_database(self.path, readonly=True)  # raises StoreError naming the file
            db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every query inside sees the same committed state of the run."""
        db = self._db()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def extra_columns(self, table: str) -> list[str]:
        """Columns of ``table`` that this module does not know by name (added by newer evoforge)."""
        known = _BASE_PROGRAM_COLUMNS if table == "programs" else _BASE_CALL_COLUMNS
        return sorted(self._columns.get(table, set()) - known)

    def optional_table(self) -> str | None:
        return next((name for name in OPTIONAL_EVENT_TABLES if name in self._columns), None)

    # --- run view ---------------------------------------------------------------------------------

    def _cached(self, name: str, compute: Callable[[sqlite3.Connection], dict[str, Any]]) -> dict[str, Any]:
        """``compute``'s answer, recomputed only when the run has changed since it was last asked.

        A page kept open on a big live run asks for the whole-run aggregates again and again: the last
        ids of programs, failures and model calls (primary-key lookups) say whether anything is new.
        """
        with self.snapshot() as db:
            mark = db.execute(
                "SELECT (SELECT MAX(seq) FROM programs), (SELECT MAX(id) FROM failed_generations), "
                "(SELECT MAX(id) FROM llm_calls)"
            ).fetchone()
            mark = (*mark, is_running(self.run_dir))
            held = self._cache.get(name)
            if held is not None and held[0] == mark:
                return held[1]
            answer = compute(db)
        self._cache[name] = (mark, answer)
        return answer

    def summary(self) -> dict[str, Any]:
        """Counts, rates, failures, tokens, per-model and per-operator outcomes and the config."""
        return self._cached("summary", self._summary)

    def _summary(self, db: sqlite3.Connection) -> dict[str, Any]:
        task, config_text, seed, created_at = db.execute(
            "SELECT task_name, config, seed, created_at FROM run"
        ).fetchone()
        config = loads(config_text, {})
        count, last_id, last_at = db.execute(
            "SELECT COUNT(*), MAX(seq), MAX(created_at) FROM programs"
        ).fetchone()
        best = db.execute(
            "SELECT id, score FROM programs WHERE ok = 1 AND score > ? ORDER BY score DESC, id LIMIT 1",
            (-math.inf,),
        ).fetchone()
        failures = dict(db.execute("SELECT kind, COUNT(*) FROM failed_generations GROUP BY kind"))
        models, operators = aggregates.outcomes(db)
        return {
            "run": self.run_dir.name,
            "task": task,
            "seed": seed,
            "created_at": created_at,
            "running": is_running(self.run_dir),
            "iterations": config.get("iterations"),
            "evaluated": count,
            "last_program_id": last_id,
            "best_program_id": best[0] if best else None,
            "best_score": finite(best[1]) if best else None,
            "elapsed_s": (last_at - created_at) if last_at is not None else 0.0,
            "evaluated_per_s": aggregates.rates(db, count, last_id, created_at, last_at),
            "failures_by_kind": failures,
            "tokens": aggregates.tokens(db, "cost_usd" in self._columns["llm_calls"]),
            "models": models,
            "operators": operators,
            "awaiting_evaluation": aggregates.awaiting(db),
            **aggregates.learned(self.run_dir, failures.get("duplicate", 0)),
            "config": clean(config),
        }

    def series(self, after: int = -1, max_points: int = MAX_SERIES_POINTS) -> dict[str, Any]:
        """Score per program stored after ``after``, as ``[seq, score, seconds since start]`` rows.

        ``seq`` numbers programs in the order they were stored (ids are submission numbers, which
        finish out of order). More programs than ``max_points`` are grouped into equal seq ranges,
        each given as its first seq, its best valid score and its first time: the best-so-far curve
        stays exact at every bucket's end, and the page gets a few thousand rows whatever the run's
        size. The whole series the pages ask for is cached until the run changes.
        """
        if after == -1 and max_points == MAX_SERIES_POINTS:
            return self._cached("series", lambda db: self._series(db, after, max_points))
        with self.snapshot() as db:
            return self._series(db, after, max_points)

    @staticmethod
    def _series(db: sqlite3.Connection, after: int, max_points: int) -> dict[str, Any]:
        (start,) = db.execute("SELECT created_at FROM run").fetchone()
        count, last_id = db.execute(
            "SELECT COUNT(*), MAX(seq) FROM programs WHERE seq > ?", (after,)
        ).fetchone()
        width = max(1, math.ceil(count / max_points)) if count else 1
        valid = "CASE WHEN ok = 1 THEN score END"
        if width == 1:
            rows = db.execute(
                f"SELECT seq, {valid}, created_at FROM programs WHERE seq > ? ORDER BY seq", (after,)
            )
        else:
            rows = db.execute(
                f"SELECT MIN(seq), MAX({valid}), MIN(created_at) FROM programs WHERE seq > ? "
                "GROUP BY (seq - ?) / ? ORDER BY 1",
                (after, after + 1, width),
            )
        points = [[pid, finite(score), round(at - start, 3)] for pid, score, at in rows]
        return {"after": after, "last_id": last_id if last_id is not None else after, "bucket": width,
                "points": points}  # fmt: skip

    def best_curve(self) -> dict[str, Any]:
        """The best-so-far curve as its improvements only (seq, score, seconds): compact for any run."""
        return self._cached("best curve", self._best_curve)

    def _best_curve(self, db: sqlite3.Connection) -> dict[str, Any]:
        (start,) = db.execute("SELECT created_at FROM run").fetchone()
        rows = db.execute(
            "SELECT seq, score, created_at FROM (SELECT seq, score, created_at, MAX(score) OVER "
            "(ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before "
            "FROM programs WHERE ok = 1 AND score > ?) WHERE before IS NULL OR score > before",
            (-math.inf,),
        ).fetchall()
        last_id, last_at = db.execute("SELECT MAX(seq), MAX(created_at) FROM programs").fetchone()
        points = [[pid, finite(score), round(at - start, 3)] for pid, score, at in rows]
        return {"run": self.run_dir.name, "points": points, "last_id": last_id,
                "elapsed_s": (last_at - start) if last_at is not None else 0.0}  # fmt: skip

    # --- archive view -----------------------------------------------------------------------------

    def archive(self) -> dict[str, Any]:
        return self._cached("archive", self._archive)

    def _archive(self, db: sqlite3.Connection) -> dict[str, Any]:
        """The MAP-Elites grid of each island: per cell its elite (best valid program there).

        Cells come from the stored features through the archive's own binning, so they match what the
        controller saw; a run with more than two feature dimensions is shown over its first two.
        """
        config = loads(db.execute("SELECT config FROM run").fetchone()[0], {})
        database = config.get("database", {})
        dimensions = list(database.get("feature_dimensions", ["code_length", "diversity"]))
        bins = int(database.get("feature_bins", 10))
        islands = int(database.get("num_islands", 1))
        initial = db.execute("SELECT LENGTH(code) FROM programs WHERE id = 0").fetchone()
        reference = FeatureReference(max(1, initial[0] if initial else 1), frozenset())
        with self._grid_lock:  # programs are never changed, so only those after the last seen are read
            rows = db.execute(
                "SELECT seq, id, island, score, features FROM programs WHERE seq > ? AND ok = 1 "
                "AND score > ? ORDER BY seq",
                (self._grid_seen, -math.inf),
            )
            for seq, pid, island, score, features in rows:
                cell = cell_of(loads(features, {}), dimensions, bins, reference)
                key = (island, *[*cell, 0, 0][:2])
                held = self._grid.get(key)
                if held is None or score > held[0] or (score == held[0] and pid < held[1]):
                    self._grid[key] = (score, pid)  # the oldest program keeps a tied cell
                self._grid_seen = seq
            elites = dict(self._grid)
        events = self._events(db)
        grids = []
        for island in range(max(islands, 1 + max((key[0] for key in elites), default=-1))):
            cells = [
                {"x": x, "y": y, "program_id": pid, "score": finite(score)}
                for (isl, x, y), (score, pid) in sorted(elites.items())
                if isl == island
            ]
            best = max(cells, key=lambda cell: (cell["score"], -cell["program_id"]), default=None)
            grids.append({"island": island, "cells": cells, "best": best})
        return {"dimensions": dimensions[:2], "bins": bins, "islands": grids, "events": events}

    def _events(self, db: sqlite3.Connection) -> list[dict[str, Any]] | None:
        """The last rows of an event table (island migrations, resets) if this database has one."""
        table = self.optional_table()
        if table is None:
            return None
        cursor = db.execute(f"SELECT * FROM {table} ORDER BY rowid DESC LIMIT ?", (MAX_EVENTS,))
        names = [column[0] for column in cursor.description]
        return [clean(dict(zip(names, row, strict=True))) for row in cursor]

    # --- program and lineage views ----------------------------------------------------------------

    def program(self, program_id: int) -> dict[str, Any] | None:
        """One program with its diff to its parent, the model call that wrote it and its children."""
        extras = self.extra_columns("programs")
        columns = ", ".join(["id", "parent_id", "island", "generation", "mutator", "metrics", "artifacts",
                             "score", "ok", "features", "created_at", "eval_time_s", "llm_call_id", "code",
                             "inspiration_ids", *extras])  # fmt: skip
        with self.snapshot() as db:
            cursor = db.execute(f"SELECT {columns} FROM programs WHERE id = ?", (program_id,))
            row = cursor.fetchone()
            if row is None:
                return None
            names = [column[0] for column in cursor.description]
            program = dict(zip(names, row, strict=True))
            parent = None
            if program["parent_id"] is not None:
                parent = db.execute(
                    "SELECT code, score FROM programs WHERE id = ?", (program["parent_id"],)
                ).fetchone()
            children = db.execute(
                "SELECT id, score, ok, mutator FROM programs WHERE parent_id = ? ORDER BY id", (program_id,)
            ).fetchall()
            call = self._call(db, program["llm_call_id"])
        return {
            **{name: clean(program[name]) for name in ("id", "parent_id", "island", "generation",
                                                          "mutator", "created_at", "eval_time_s", "code")},
            "score": finite(program["score"]),
            "ok": bool(program["ok"]),
            "metrics": clean(loads(program["metrics"], {})),
            "artifacts": loads(program["artifacts"], {}),
            "features": clean(loads(program["features"], {})),
            "inspiration_ids": loads(program["inspiration_ids"], []),
            "parent_score": finite(parent[1]) if parent else None,
            "diff": unified_diff(parent[0], program["code"], f"program {program['parent_id']}",
                                 f"program {program_id}") if parent else None,
            "llm_call": call,
            "children": [{"id": cid, "score": finite(score), "ok": bool(ok), "mutator": mutator}
                         for cid, score, ok, mutator in children],
            "extra": {name: clean(program[name]) for name in extras},
        }  # fmt: skip

    def _call(self, db: sqlite3.Connection, call_id: int | None) -> dict[str, Any] | None:
        if call_id is None:
            return None
        extras = self.extra_columns("llm_calls")
        cursor = db.execute(
            "SELECT model, messages, response, prompt_tokens, completion_tokens, latency_s, error"
            f"{''.join(', ' + name for name in extras)} FROM llm_calls WHERE id = ?",
            (call_id,),
        )
        row = cursor.fetchone()
        if row is None:
            return None
        record = dict(zip([column[0] for column in cursor.description], row, strict=True))
        record["messages"] = loads(record["messages"], [])
        return {"id": call_id, **clean(record)}

    def lineage(self, program_id: int) -> dict[str, Any] | None:
        """The ancestors of a program up to the initial one, their other children, and the program's
        descendants (at most MAX_LINEAGE_NODES of each)."""
        node = (
            "SELECT p.id, p.parent_id, p.score, p.ok, p.mutator, p.generation, p.island, c.model "
            "FROM programs AS p LEFT JOIN llm_calls AS c ON c.id = p.llm_call_id WHERE p.id IN "
        )
        with self.snapshot() as db:
            if db.execute("SELECT 1 FROM programs WHERE id = ?", (program_id,)).fetchone() is None:
                return None
            ancestors = db.execute(
                node + "(WITH RECURSIVE up(id) AS (SELECT ? UNION SELECT parent_id FROM programs JOIN up "
                "USING (id) WHERE parent_id IS NOT NULL) SELECT id FROM up)",
                (program_id,),
            ).fetchall()
            descendants = db.execute(
                node + "(WITH RECURSIVE down(id) AS (SELECT ? UNION SELECT p.id FROM programs AS p "
                "JOIN down ON p.parent_id = down.id LIMIT ?) SELECT id FROM down)",
                (program_id, MAX_LINEAGE_NODES + 1),
            ).fetchall()
            siblings = db.execute(  # the other children of each ancestor: the branches not taken
                node + f"(SELECT id FROM programs WHERE parent_id IN ({','.join('?' * len(ancestors))}) "
                "ORDER BY id LIMIT ?)",
                (*[row[0] for row in ancestors], MAX_LINEAGE_NODES),
            ).fetchall()
        nodes = {row[0]: row for row in [*ancestors, *descendants, *siblings]}
        return {
            "focus": program_id,
            "truncated": len(descendants) > MAX_LINEAGE_NODES or len(siblings) == MAX_LINEAGE_NODES,
            "nodes": [
                {"id": pid, "parent_id": parent, "score": finite(score) if ok else None, "mutator": mutator,
                 "generation": generation, "island": island, "model": model}
                for pid, parent, score, ok, mutator, generation, island, model in sorted(nodes.values())
            ],
        }  # fmt: skip

    def ancestry(self, program_id: int) -> list[int]:
        """Ids from the initial program down to ``program_id`` (the report's diff chain)."""
        with self.snapshot() as db:
            rows = db.execute(
                "WITH RECURSIVE up(id, depth) AS (SELECT ?, 0 UNION SELECT parent_id, depth + 1 "
                "FROM programs JOIN up USING (id) WHERE parent_id IS NOT NULL) "
                "SELECT id FROM up ORDER BY depth DESC",
                (program_id,),
            ).fetchall()
        return [pid for (pid,) in rows]

    def programs(self, after: int = -1, limit: int = 100) -> dict[str, Any]:
        """A page of programs (no code) stored after ``after`` (a ``seq``), for scripts following a run."""
        with self.snapshot() as db:
            rows = db.execute(
                "SELECT seq, id, parent_id, island, generation, mutator, score, ok, created_at FROM programs "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
        items = [
            {"seq": seq, "id": pid, "parent_id": parent, "island": island, "generation": generation,
             "mutator": mutator, "score": finite(score), "ok": bool(ok), "created_at": at}
            for seq, pid, parent, island, generation, mutator, score, ok, at in rows
        ]  # fmt: skip
        return {"after": after, "programs": items, "last_id": items[-1]["seq"] if items else after}

    def progress(self) -> tuple[int, int]:
        """(last program seq, failed generations): what the live stream watches for change."""
        with self.snapshot() as db:
            last = db.execute("SELECT COALESCE(MAX(seq), -1) FROM programs").fetchone()[0]
            failed = db.execute("SELECT COALESCE(MAX(id), 0) FROM failed_generations").fetchone()[0]
        return int(last), int(failed)
