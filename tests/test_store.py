"""The SQLite store on real files: round trips, ids, modes, readers beside a writer, schema versions."""

from __future__ import annotations

import math
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evoforge.errors import StoreError
from evoforge.records import Candidate, Evaluation, FailedGeneration, LLMCall, RunInfo
from evoforge.storage import DB_FILENAME, SQLiteStore
from evoforge.storage.sqlite_open import WAL_SIZE_LIMIT
from evoforge.storage.sqlite_schema import SCHEMA_VERSION
from evoforge.testing.stores import INFO, candidate, corrupt_programs_table, fill, ok


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore.create(tmp_path / "run", INFO) as store:
        yield store


def test_every_record_round_trips(store: SQLiteStore) -> None:
    call = LLMCall(1, "m", ({"role": "system", "content": "s"}, {"role": "user", "content": "é"}), "a", 10, 4,
                   0.2, None, 2.0)  # fmt: skip
    call_id = store.add_llm_call(call)
    assert store.get_llm_call(call_id) == LLMCall(**{**call.__dict__, "id": call_id})
    assert store.get_llm_call(call_id + 1) is None

    first = store.add_program(candidate(0), ok(1.5), {"code_length": 6.0, "diversity": 0.0})
    child = store.add_program(candidate(1, "y = 2\n", parent=0, call=call_id), ok(2.5), {"diversity": 0.25})
    assert (first.id, child.id) == (0, 1)
    assert child.parent_id == 0 and child.inspiration_ids == (0,) and child.llm_call_id == call_id
    assert child.metrics == {"combined_score": 2.5, "n": 2.0} and child.eval_time_s == 0.5
    assert store.get_program(1) == child
    assert store.get_program(2) is None
    assert list(store.programs()) == [first, child]

    store.add_failed_generation(FailedGeneration(2, "edit_rejected", "no match", 1, 3.0, call_id))
    store.add_failed_generation(FailedGeneration(3, "cancelled", "stopped", None, 3.0))
    assert store.count_failed_generations() == 1
    assert store.failed_generation_counts() == {"cancelled": 1, "edit_rejected": 1}
    assert store.max_submission() == 3
    assert store.token_totals() == (10, 4)
    assert store.info() == INFO


def test_ids_count_from_zero_and_continue_after_reopen(tmp_path: Path) -> None:
    with SQLiteStore.create(tmp_path / "run", INFO) as store:
        ids = [store.add_program(candidate(s, f"v{s}\n"), ok(s), {}).id for s in range(3)]
        assert ids == [0, 1, 2]
    with SQLiteStore.open(tmp_path / "run") as store:
        assert store.add_program(candidate(3, "w\n"), ok(1.0), {}).id == 3
        assert store.count_programs() == 4
        assert store.info() == INFO


def test_failed_scores_stay_minus_infinity_and_are_never_best(store: SQLiteStore) -> None:
    store.add_program(candidate(0), Evaluation.failure("timeout after 1 s"), {})
    infeasible = Evaluation({"combined_score": -math.inf}, {}, -math.inf, True)
    store.add_program(candidate(1, "a\n"), infeasible, {})
    assert store.best_program() is None
    store.add_program(candidate(2, "b\n"), ok(-3.0), {})
    failed = store.get_program(0)
    assert failed is not None and failed.score == -math.inf and not failed.ok and not failed.is_valid
    assert failed.artifacts["error"] == "timeout after 1 s"
    kept = store.get_program(1)
    assert kept is not None and kept.metrics == {"combined_score": -math.inf}
    best = store.best_program()
    assert best is not None and best.id == 2


def test_best_prefers_the_higher_score_then_the_older_program(store: SQLiteStore) -> None:
    for submission, score in enumerate([1.0, 3.0, 3.0, 2.0]):
        store.add_program(candidate(submission, f"v{submission}\n"), ok(score), {})
    best = store.best_program()
    assert best is not None and best.id == 1


def test_empty_store(store: SQLiteStore) -> None:
    assert store.max_submission() == -1
    assert store.best_program() is None
    assert store.count_programs() == 0
    assert list(store.programs()) == []
    assert store.token_totals() == (0, 0)
    assert store.failed_generation_counts() == {}


def test_streams_page_through_in_id_and_submission_order(store: SQLiteStore) -> None:
    submissions = [(7 * i) % 2501 for i in range(2501)]  # a permutation: completion order != submission order
    with store.transaction():
        for submission in submissions:
            store.add_program(candidate(submission, f"v{submission}\n"), ok(1.0), {})
    assert [p.id for p in store.programs()] == list(range(2501))
    assert [p.id for p in store.programs(after_id=2400)] == list(range(2401, 2501))
    assert [p.submission for p in store.programs_by_submission()] == list(range(2501))


def test_state_is_a_json_key_value_map(store: SQLiteStore) -> None:
    assert store.get_state("missing", "default") == "default"
    store.set_state("controller", {"rng": [1, 2, 3], "islands": {"0": 4}})
    store.set_state("iterations", 50)
    store.set_state("iterations", 60)
    assert store.get_state("controller") == {"rng": [1, 2, 3], "islands": {"0": 4}}
    assert store.get_state("iterations") == 60


def test_transaction_commits_together_or_not_at_all(tmp_path: Path) -> None:
    with SQLiteStore.create(tmp_path / "run", INFO) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.add_program(candidate(0), ok(1.0), {})
            store.set_state("k", 1)
            raise RuntimeError("abandon")
        assert store.count_programs() == 0 and store.get_state("k") is None
        with store.transaction():
            store.add_program(candidate(0), ok(1.0), {})
            with store.transaction():
                store.add_program(candidate(1, "y\n"), ok(1.0), {})
            with SQLiteStore.open(tmp_path / "run", readonly=True) as reader:
                assert reader.count_programs() == 0  # not committed yet
        assert [p.id for p in store.programs()] == [0, 1]


def test_references_are_checked(store: SQLiteStore) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.add_program(candidate(0, parent=5), ok(1.0), {})
    assert store.add_program(candidate(0), ok(1.0), {}).id == 0


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("premade", [False, True])
def test_file_modes_are_private_whatever_the_umask(tmp_path: Path, premade: bool) -> None:
    run_dir = tmp_path / "run"
    if premade:
        run_dir.mkdir(mode=0o755)
    previous = os.umask(0)
    try:
        with SQLiteStore.create(run_dir, INFO) as store:
            store.add_program(candidate(0), ok(1.0), {})
            assert mode(run_dir) == 0o700
            files = sorted(path.name for path in run_dir.iterdir())
            assert files == [DB_FILENAME, f"{DB_FILENAME}-shm", f"{DB_FILENAME}-wal"]  # no draft left behind
            assert [mode(run_dir / name) for name in files] == [0o600] * 3
    finally:
        os.umask(previous)


def test_a_shared_nonempty_directory_keeps_its_mode(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    (tmp_path / "notes.txt").write_text("mine")
    SQLiteStore.create(tmp_path, INFO).close()
    assert mode(tmp_path) == 0o755
    assert mode(tmp_path / DB_FILENAME) == 0o600


def wal_size(run_dir: Path) -> int:
    wal = run_dir / f"{DB_FILENAME}-wal"
    return wal.stat().st_size if wal.exists() else 0


def test_the_wal_stays_bounded_and_a_clean_close_empties_it(tmp_path: Path) -> None:
    """3000 commits append ~50 MB of WAL frames; checkpoints keep the file near WAL_SIZE_LIMIT."""
    run_dir = tmp_path / "run"
    code = "x = 1\n" * 300
    store = SQLiteStore.create(run_dir, INFO)
    with SQLiteStore.open(run_dir, readonly=True) as reader:
        peak = 0
        for submission in range(3000):
            store.add_program(candidate(submission, code + f"y = {submission}\n"), ok(1.0), {})
            peak = max(peak, wal_size(run_dir))
            if submission % 100 == 0:
                assert reader.count_programs() == submission + 1
        assert 0 < peak <= 2 * WAL_SIZE_LIMIT
        store.close()
        assert wal_size(run_dir) == 0  # emptied although the reader keeps the file open
        assert reader.count_programs() == 3000


def test_a_wal_grown_by_a_big_transaction_is_cut_back(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with SQLiteStore.create(run_dir, INFO) as store, SQLiteStore.open(run_dir, readonly=True) as reader:
        with store.transaction():
            for submission in range(2000):
                store.add_program(candidate(submission, f"x = {submission}\n" * 600), ok(1.0), {})
        assert wal_size(run_dir) > 2 * WAL_SIZE_LIMIT
        store.set_state("after", 1)  # the log restarts after the checkpoint of the big commit
        assert wal_size(run_dir) <= WAL_SIZE_LIMIT
        assert reader.count_programs() == 2000


@pytest.mark.parametrize("readonly", [False, True])
def test_a_corrupt_database_is_refused_in_one_line(tmp_path: Path, readonly: bool) -> None:
    fill(tmp_path / "run", INFO, 300)
    path = tmp_path / "run" / DB_FILENAME
    corrupt_programs_table(path)
    with pytest.raises(StoreError) as error:
        SQLiteStore.open(tmp_path / "run", readonly=readonly)
    assert str(error.value).startswith(f"{path}: the database is corrupt: ")
    assert "\n" not in str(error.value)
    if not readonly:  # the writer's integrity check names the damaged page
        assert "Page" in str(error.value)


def test_readonly_reader_sees_the_commits_of_a_live_writer(tmp_path: Path) -> None:
    with SQLiteStore.create(tmp_path / "run", INFO) as writer:
        writer.add_program(candidate(0), ok(1.0), {})
        with SQLiteStore.open(tmp_path / "run", readonly=True) as reader:
            assert reader.count_programs() == 1
            writer.add_program(candidate(1, "z\n"), ok(2.0), {})
            best = reader.best_program()
            assert reader.count_programs() == 2 and best is not None and best.id == 1
            with pytest.raises(StoreError, match="cannot write"):
                reader.set_state("k", 1)
    with SQLiteStore.open(tmp_path / "run", readonly=True) as reader:  # after the writer closed
        assert reader.count_programs() == 2


def test_a_committed_program_survives_a_killed_writer(tmp_path: Path) -> None:
    script = f"""
import os, signal
from pathlib import Path
from evoforge.records import Candidate, Evaluation, RunInfo
from evoforge.storage import SQLiteStore
store = SQLiteStore.create(Path({str(tmp_path / "run")!r}), RunInfo("t", "t", {{}}, 0, 0.0, "0"))
store.add_program(Candidate(0, "x\\n", None, (), 0, 0, "initial"), Evaluation({{}}, {{}}, 1.0, True), {{}})
os.kill(os.getpid(), signal.SIGKILL)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -9, result.stderr
    with SQLiteStore.open(tmp_path / "run") as store:
        assert [p.code for p in store.programs()] == ["x\n"]


def test_missing_run_and_second_create_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as missing:
        SQLiteStore.open(tmp_path / "nothing")
    assert str(missing.value) == f"no evoforge run in {tmp_path / 'nothing'}"
    assert not (tmp_path / "nothing").exists()
    SQLiteStore.create(tmp_path / "run", INFO).close()
    with pytest.raises(StoreError, match="already holds a run"):
        SQLiteStore.create(tmp_path / "run", INFO)
    assert [path.name for path in (tmp_path / "run").iterdir()] == [DB_FILENAME]


def test_database_from_a_newer_evoforge_is_refused(tmp_path: Path) -> None:
    SQLiteStore.create(tmp_path / "run", INFO).close()
    db = sqlite3.connect(tmp_path / "run" / DB_FILENAME)
    db.execute("PRAGMA user_version = 99")
    db.close()
    for readonly in (False, True):
        with pytest.raises(StoreError, match=rf"newer evoforge \(schema 99 > {SCHEMA_VERSION}\)"):
            SQLiteStore.open(tmp_path / "run", readonly=readonly)


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100])
def test_a_file_that_is_not_an_evoforge_database_is_refused(tmp_path: Path, content: bytes) -> None:
    (tmp_path / DB_FILENAME).write_bytes(content)
    with pytest.raises(StoreError, match=DB_FILENAME) as error:
        SQLiteStore.open(tmp_path)
    assert "\n" not in str(error.value)


def test_a_new_run_holds_its_initial_program_from_the_start(tmp_path: Path) -> None:
    """Created in one transaction: no crash can leave a run without program 0."""
    from evoforge.records import Evaluation

    initial = Candidate(
        submission=0,
        code="x = 1\n",
        parent_id=None,
        inspiration_ids=(),
        island=0,
        generation=0,
        mutator="initial",
    )
    evaluation = Evaluation(metrics={"combined_score": 1.0}, artifacts={}, score=1.0, ok=True)
    info = RunInfo(task_dir="t", task_name="t", config={}, seed=0, created_at=0.0, evoforge_version="0")
    with SQLiteStore.create(tmp_path / "run", info, (initial, evaluation, {})) as store:
        assert store.count_programs() == 1 and store.get_program(0).code == "x = 1\n"
