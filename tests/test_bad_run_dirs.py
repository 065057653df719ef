"""Every mistake about a run directory or its database ends in one exact line and exit code 2.

A missing, read-only, locked, damaged or foreign run directory, through the real CLI (the harness is
evoforge/testing/badinput.py). What can still be read is read: see the tests at the end.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

import evoforge
import evoforge.api
from evoforge.errors import StoreError
from evoforge.runlock import RunLock
from evoforge.testing import badinput
from evoforge.testing.badinput import Bad, Case, Cases, Setup, read_only, run_args
from evoforge.testing.tasks import write_task

CASES = Cases()
case = CASES.case
SQLITE_RANGE = "-9223372036854775808<=x<=9223372036854775807"  # what SQLite stores
RESTORE = "restore the run directory from a copy"


def read_only_message(what: str) -> str:
    return (
        f"the {what} is read-only for this user, and resuming writes to it: make it writable or copy the run "
        "directory elsewhere (status, best and show can read it as it is)"
    )


@case
def run_dir_of_another_task(s: Setup) -> Bad:
    other = s.task().rename(s.tmp / "other")
    return Bad(
        run_args(other, run_dir=s.run),
        f"{s.run} already holds a run of another task, toy ({s.run.parent / 'toy'}): "
        "choose another --run-dir",
    )


@case
def run_dir_of_the_same_task(s: Setup) -> Bad:
    return Bad(
        run_args(s.run.parent / "toy", run_dir=s.run),
        f"{s.run} already holds a run of this task: continue it with `evoforge resume {s.run}` or choose "
        "another --run-dir",
    )


@case
def run_dir_is_a_file(s: Setup) -> Bad:
    (s.tmp / "r").write_text("")
    return Bad(
        run_args(s.task()), f"{s.tmp}/r: not a directory (--run-dir names the folder the run is stored in)"
    )


@case
def resume_missing_directory(s: Setup) -> Bad:
    return Bad(
        ["resume", f"{s.tmp}/nowhere"],
        f"Invalid value for 'RUN_DIR': Directory '{s.tmp}/nowhere' does not exist "
        "(see 'evoforge resume --help')",
    )


@case
def resume_directory_without_run(s: Setup) -> Bad:
    return Bad(["resume", str(s.tmp)], f"no evoforge run in {s.tmp}")


@case
def resume_run_whose_task_is_gone(s: Setup) -> Bad:
    run = s.run_copy()
    with sqlite3.connect(run / "evoforge.db") as db:
        db.execute("UPDATE run SET task_dir = ?", (f"{s.tmp}/moved",))
    return Bad(["resume", str(run)], f"{s.tmp}/moved: task folder not found (the task of the run in {run})")


@case
def resume_run_that_is_running(s: Setup) -> Bad:
    run = s.run_copy()
    s.stack.enter_context(RunLock(run))  # a live controller holds this lock
    return Bad(["resume", str(run)], f"{run}: another evoforge process is running this run")


@case
def database_from_a_newer_evoforge(s: Setup) -> Bad:
    run = s.run_copy()
    with sqlite3.connect(run / "evoforge.db") as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        db.execute(f"PRAGMA user_version = {version + 1}")
    return Bad(
        ["resume", str(run)],
        f"{run}/evoforge.db: database from a newer evoforge (schema {version + 1} > {version})",
    )


@case
def database_that_is_not_sqlite(s: Setup) -> Bad:
    (s.tmp / "evoforge.db").write_text("these are notes, not a database\n" * 10)
    return Bad(
        ["status", str(s.tmp)], f"{s.tmp}/evoforge.db: cannot open the database: file is not a database"
    )


@case
def status_of_a_non_run(s: Setup) -> Bad:
    return Bad(["status", str(s.tmp)], f"no evoforge run in {s.tmp}")


@case
def best_of_a_non_run(s: Setup) -> Bad:
    return Bad(["best", str(s.tmp)], f"no evoforge run in {s.tmp}")


@case
def show_of_a_non_run(s: Setup) -> Bad:
    return Bad(["show", str(s.tmp), "0"], f"no evoforge run in {s.tmp}")


@case
def show_of_a_missing_program(s: Setup) -> Bad:
    return Bad(["show", str(s.run), "99"], f"{s.run}: no program with id 99")


@case
def show_of_a_program_id_that_is_not_a_number(s: Setup) -> Bad:
    return Bad(
        ["show", str(s.run), "best"],
        "Invalid value for 'PROGRAM_ID': 'best' is not a valid integer (see 'evoforge show --help')",
    )


@case
def show_of_a_program_id_out_of_range(s: Setup) -> Bad:
    return Bad(
        ["show", str(s.run), str(2**64)],
        f"Invalid value for 'PROGRAM_ID': {2**64} is not in the range {SQLITE_RANGE} "
        "(see 'evoforge show --help')",
    )


@case
def best_written_into_a_missing_folder(s: Setup) -> Bad:
    return Bad(
        ["best", str(s.run), "-o", f"{s.tmp}/no/best.py"],
        f"{s.tmp}/no/best.py: cannot write: No such file or directory",
    )


@case
def run_dir_is_empty(s: Setup) -> Bad:
    task = s.task()
    return Bad(["run", str(task), "--run-dir", ""], "--run-dir is empty (see 'evoforge run --help')")


@case
def resume_of_an_empty_run_dir(s: Setup) -> Bad:
    return Bad(["resume", ""], "RUN_DIR is empty (see 'evoforge resume --help')")


@case
def resume_a_read_only_run_directory(s: Setup) -> Bad:
    run = s.run_copy()
    return Bad(
        ["resume", str(run), "--iterations", "3"],
        f"{run}: {read_only_message('run directory')}",
        wrapper=read_only(s, run),
    )


@case
def resume_a_read_only_database(s: Setup) -> Bad:
    run = s.run_copy()
    return Bad(
        ["resume", str(run), "--iterations", "3"],
        f"{run}/evoforge.db: {read_only_message('database')}",
        wrapper=read_only(s, run / "evoforge.db"),
    )


@case
def status_of_a_read_only_run_with_a_write_ahead_log(s: Setup) -> Bad:
    run = s.run_copy()
    leave_a_write_ahead_log(run / "evoforge.db")
    (run / "evoforge.db-shm").unlink()  # with it, SQLite reads the log; without it, immutable would skip it
    return Bad(
        ["status", str(run)],
        f"{run}/evoforge.db: cannot read the run in a read-only directory while its write-ahead log "
        "(evoforge.db-wal) is there: copy the run directory somewhere writable",
        wrapper=read_only(s, run),
    )


def leave_a_write_ahead_log(db_path: Path) -> None:
    """Commit one write and end the process without closing, as a crashed run does: the -wal stays."""
    code = (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute(\"INSERT INTO state VALUES ('left', '1')\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(db_path)], check=True)
    assert db_path.with_name("evoforge.db-wal").stat().st_size > 0


def without_table(table: str, command: str) -> Case:
    """A copy of the finished run whose ``table`` was dropped, read by ``command``."""

    def make(s: Setup) -> Bad:
        run = s.run_copy()
        with sqlite3.connect(run / "evoforge.db") as db:
            db.execute(f"DROP TABLE {table}")
        args = [command, str(run), *(["0"] if command == "show" else [])]
        return Bad(args, f"{run}/evoforge.db: not a complete evoforge run (table {table} missing): {RESTORE}")

    return make


for _table, _command in [("programs", "status"), ("llm_calls", "show"), ("state", "best"), ("run", "resume")]:
    CASES[f"{_command}_of_a_database_without_table_{_table}"] = without_table(_table, _command)


@case
def database_without_a_column(s: Setup) -> Bad:
    run = s.run_copy()
    with sqlite3.connect(run / "evoforge.db") as db:
        db.execute("ALTER TABLE programs DROP COLUMN artifacts")  # a column no index names
    return Bad(
        ["status", str(run)],
        f"{run}/evoforge.db: not a complete evoforge run (table programs lacks column artifacts): {RESTORE}",
    )


def damaged(statement: str, command: str, record: str, logs: bool = False) -> Case:
    """A copy of the finished run changed by ``statement``, used by ``command`` (``logs``: see Bad)."""

    def make(s: Setup) -> Bad:
        run = s.run_copy()
        with sqlite3.connect(run / "evoforge.db") as db:
            db.execute(statement)
        args = [command, str(run), *(["0"] if command == "show" else [])]
        return Bad(args, f"{run}/evoforge.db: {record}: {RESTORE}", logs=logs)

    return make


NOT_JSON = "is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"
for _command in ("status", "resume"):
    CASES[f"{_command}_of_a_run_whose_config_is_not_json"] = damaged(
        "UPDATE run SET config = '{bad'", _command, f"the run's stored config {NOT_JSON}"
    )
CASES["status_of_a_run_whose_config_is_a_list"] = damaged(
    "UPDATE run SET config = '[1]'", "status", "the run's stored config is not a JSON object"
)
CASES["show_of_a_program_whose_metrics_are_not_json"] = damaged(
    "UPDATE programs SET metrics = '{bad'", "show", f"the record of program 0 {NOT_JSON}"
)
CASES["resume_of_a_program_whose_metrics_are_not_json"] = damaged(
    "UPDATE programs SET metrics = '{bad'", "resume", f"the record of program 0 {NOT_JSON}", logs=True
)
CASES["status_of_a_run_whose_state_is_not_json"] = damaged(
    "UPDATE state SET value = '{bad' WHERE key = 'iterations'",
    "status",
    f"the stored state 'iterations' {NOT_JSON}",
)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return badinput.finished_run(tmp_path_factory.mktemp("finished").resolve())


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_run_dir_ends_in_one_line_and_exit_code_2(name: str, tmp_path: Path, finished_run: Path) -> None:
    badinput.check(CASES[name], tmp_path, finished_run)


@pytest.mark.parametrize("command", ["status", "best", "show"])
def test_a_read_only_run_directory_can_still_be_read(
    command: str, tmp_path: Path, finished_run: Path
) -> None:
    with ExitStack() as stack:
        s = Setup(tmp_path.resolve(), finished_run, stack)
        run = s.run_copy()
        result = badinput.run([command, str(run), *(["0"] if command == "show" else [])], read_only(s, run))
    assert result.returncode == 0, result.stderr
    assert ("1/1 evaluated" if command == "status" else "EVOLVE-BLOCK-START") in result.stdout


@pytest.mark.parametrize("command", ["best", "show"])
def test_programs_of_a_run_whose_config_is_damaged_can_still_be_read(
    command: str, tmp_path: Path, finished_run: Path
) -> None:
    with ExitStack() as stack:
        run = Setup(tmp_path.resolve(), finished_run, stack).run_copy()
    with sqlite3.connect(run / "evoforge.db") as db:
        db.execute("UPDATE run SET config = '{bad'")
    result = badinput.run([command, str(run), *(["0"] if command == "show" else [])])
    assert result.returncode == 0, result.stderr
    assert "EVOLVE-BLOCK-START" in result.stdout


@pytest.mark.parametrize("call", ["evolve", "resume", "load_run"])
def test_the_python_api_refuses_an_empty_run_dir(
    call: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where an empty run_dir would otherwise put the run
    task = write_task(tmp_path)
    calls = {
        "evolve": lambda: evoforge.evolve(task, run_dir="", iterations=1),
        "resume": lambda: evoforge.api.resume(""),
        "load_run": lambda: evoforge.load_run(""),
    }
    with pytest.raises(StoreError, match=r"^run_dir is empty: name the folder the run is stored in$"):
        calls[call]()
    assert not (tmp_path / "evoforge.db").exists()
