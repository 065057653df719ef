"""The SQLite store on real files: round trips, ids, modes, read-only readers, schema versions."""

from __future__ import annotations

import math
import sqlite3
import stat
from pathlib import Path

import pytest

from evoforge.errors import StoreError
from evoforge.records import Candidate, Evaluation, FailedGeneration, LLMCall, RunInfo
from evoforge.storage import DB_FILENAME, SQLiteStore

INFO = RunInfo("/tasks/t", "t", {"seed": 3, "llm": {"models": []}}, 3, 1.0, "0.1.0")


def candidate(submission: int, code: str = "x = 1\n", parent: int | None = None) -> Candidate:
    return Candidate(submission, code, parent, (0,) if parent is not None else (), 1, 2, "llm", None)


def ok(score: float) -> Evaluation:
    return Evaluation({"combined_score": score, "n": 2.0}, {"note": "fine"}, score, True, None, 0.5)


def test_programs_get_ids_in_insertion_order_and_round_trip(tmp_path: Path) -> None:
    with SQLiteStore.create(tmp_path / "run", INFO) as store:
        first = store.add_program(candidate(0), ok(1.5), {"code_length": 6.0})
        second = store.add_program(candidate(4, "x = 2\n", parent=0), ok(2.5), {"code_length": 6.0})
        assert (first.id, second.id) == (0, 1)
        loaded = store.get_program(1)
        assert loaded == second
        assert [p.id for p in store.programs()] == [0, 1]
        assert [p.id for p in store.programs(after_id=0)] == [1]
        assert store.info() == INFO


def test_failed_evaluation_keeps_minus_infinity(tmp_path: Path) -> None:
    with SQLiteStore.create(tmp_path / "run", INFO) as store:
        store.add_program(candidate(0), Evaluation.failure("timeout after 1 s"), {})
        store.add_program(candidate(1, "y\n"), ok(-3.0), {})
        failed = store.get_program(0)
        assert failed is not None and failed.score == -math.inf and not failed.ok
        assert failed.artifacts["error"] == "timeout after 1 s"
        best = store.best_program()
        assert best is not None and best.id == 1


def test_best_prefers_higher_score_then_older(tmp_path: Path) -> None:
    with SQLiteStore.create(tmp_path / "run", INFO) as store:
        for submission, score in enumerate([1.0, 3.0, 3.0, 2.0]):
            store.add_program(candidate(submission, f"v{submission}\n"), ok(score), {})
        best = store.best_program()
        assert best is not None and best.id == 1


def test_llm_calls_failures_counts_and_state(tmp_path: Path) -> None:
    with SQLiteStore.create(tmp_path / "run", INFO) as store:
        call = LLMCall(5, "m", ({"role": "user", "content": "hi"},), "answer", 10, 4, 0.2, None, 1.0)
        call_id = store.add_llm_call(call)
        stored = store.get_llm_call(call_id)
        assert stored is not None and stored.messages == call.messages and stored.id == call_id
        store.add_failed_generation(FailedGeneration(6, "no_edit", "prose only", 0, 1.0, call_id))
        store.add_failed_generation(FailedGeneration(7, "cancelled", "stopped", None, 1.0))
        assert store.count_failed_generations() == 1
        assert store.failed_generation_counts() == {"cancelled": 1, "no_edit": 1}
        assert store.max_submission() == 7
        assert store.token_totals() == (10, 4)
        store.set_state("iterations", 50)
        assert store.get_state("iterations") == 50
        assert store.get_state("missing", "default") == "default"


def test_empty_store_max_submission(tmp_path: Path) -> None:
    with SQLiteStore.create(tmp_path / "run", INFO) as store:
        assert store.max_submission() == -1
        assert store.best_program() is None


def test_file_modes(tmp_path: Path) -> None:
    SQLiteStore.create(tmp_path / "run", INFO).close()
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "run" / DB_FILENAME).stat().st_mode) == 0o600


def test_readonly_reader_sees_commits_of_a_live_writer(tmp_path: Path) -> None:
    writer = SQLiteStore.create(tmp_path / "run", INFO)
    writer.add_program(candidate(0), ok(1.0), {})
    with SQLiteStore.open(tmp_path / "run", readonly=True) as reader:
        assert reader.count_programs() == 1
        writer.add_program(candidate(1, "z\n"), ok(2.0), {})
        assert reader.count_programs() == 2
        with pytest.raises(sqlite3.OperationalError):
            reader._db.execute("DELETE FROM programs")
    writer.close()


def test_reopen_continues_ids(tmp_path: Path) -> None:
    with SQLiteStore.create(tmp_path / "run", INFO) as store:
        store.add_program(candidate(0), ok(1.0), {})
    with SQLiteStore.open(tmp_path / "run") as store:
        assert store.add_program(candidate(1, "w\n"), ok(1.0), {}).id == 1


def test_missing_run_and_second_create(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no evoforge run here"):
        SQLiteStore.open(tmp_path / "nothing")
    SQLiteStore.create(tmp_path / "run", INFO).close()
    with pytest.raises(StoreError, match="already holds a run"):
        SQLiteStore.create(tmp_path / "run", INFO)


def test_database_from_a_newer_evoforge_is_refused(tmp_path: Path) -> None:
    SQLiteStore.create(tmp_path / "run", INFO).close()
    db = sqlite3.connect(tmp_path / "run" / DB_FILENAME)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer evoforge"):
        SQLiteStore.open(tmp_path / "run")
