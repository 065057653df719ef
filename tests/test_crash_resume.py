"""Crash safety end to end: a run killed with SIGKILL again and again, resumed each time, loses nothing.

The controller runs in its own process against the scripted model server in this one; the test polls
the database through a read-only connection and kills the controller at seeded random moments, some
while it is evolving (right after a chosen number of stored programs) and some while it is starting
up (opening and checking the database, rebuilding the archive).
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from evoforge.storage import DB_FILENAME
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.stores import INFO, corrupt_programs_table, fill
from evoforge.testing.tasks import evoforge_cli, write_task

ITERATIONS = 200  # programs in total, the initial one included
KILLS = 20
CONFIG = "evaluation:\n  timeout_s: 20\n  parallel: 4\nllm:\n  max_inflight: 8\n"

Row = tuple[int, int, str]  # a program's id, submission and code


def query(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` read through a fresh read-only connection, as `evoforge status` reads."""
    db = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def stored_count(db_path: Path) -> int:
    return int(query(db_path, "SELECT COUNT(*) FROM programs")[0][0]) if db_path.exists() else 0


def stored_programs(db_path: Path) -> set[Row]:
    if not db_path.exists():
        return set()
    return {
        (int(i), int(s), str(c)) for i, s, c in query(db_path, "SELECT id, submission, code FROM programs")
    }


def kill_after(process: subprocess.Popen[bytes], db_path: Path, stored: int, delay_s: float) -> None:
    """SIGKILL ``process`` ``delay_s`` after the database holds ``stored`` programs; it must still run."""
    deadline = time.monotonic() + 120
    while stored_count(db_path) < stored:
        assert process.poll() is None, f"the controller exited (code {process.returncode}) before its kill"
        assert time.monotonic() < deadline, f"the run never stored {stored} programs"
        time.sleep(0.01)
    time.sleep(delay_s)
    assert process.poll() is None, f"the controller exited (code {process.returncode}) before its kill"
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def kill_schedule(rng: random.Random) -> list[tuple[int, float]]:
    """(programs stored, then seconds) of each kill; every fourth one lands while the controller starts.

    A start-up kill waits for no new program, so it falls in the second or so it takes to import, open
    the database and rebuild the archive; the first kill is an evolving one, so that the run exists.
    The last 40 programs are left unkilled so that no kill can come after the run has finished.
    """
    targets = sorted(rng.sample(range(2, ITERATIONS - 40), KILLS))
    return [
        (0, rng.uniform(0.0, 1.0)) if index % 4 == 3 else (target, rng.uniform(0.0, 0.05))
        for index, target in enumerate(targets)
    ]


def test_twenty_kills_lose_nothing_and_count_exactly(tmp_path: Path) -> None:
    task = write_task(tmp_path, CONFIG)
    run_dir = tmp_path / "run"
    db_path = run_dir / DB_FILENAME
    seen: set[Row] = set()
    # The model's latency paces the run (at most 40 programs/s), so that the last 40 programs outlast
    # a start-up kill's window whatever the speed of the evaluations.
    with ScriptedServer(tweak_constants_responder(seed=4), latency_s=0.2) as server:
        command = ["run", str(task), "--run-dir", str(run_dir), "--iterations", str(ITERATIONS),
                   "--model", "scripted", "--base-url", server.base_url]  # fmt: skip
        for stored, delay_s in kill_schedule(random.Random(20)):
            process = subprocess.Popen(
                [sys.executable, "-m", "evoforge.cli", *command],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            kill_after(process, db_path, stored, delay_s)
            now = stored_programs(db_path)
            assert seen <= now, "a program committed before a kill is gone"
            seen = now
            command = ["resume", str(run_dir)]
        finished = evoforge_cli(*command)
    assert finished.returncode == 0, finished.stderr
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]
    programs = stored_programs(db_path)
    assert seen <= programs
    assert len(programs) == ITERATIONS and all(i == s for i, s, _ in programs), "ids are the submissions"
    failures = [s for (s,) in query(db_path, "SELECT submission FROM failed_generations")]
    submissions = [s for _, s, _ in programs] + failures
    assert len(submissions) == len(set(submissions)), "a submission was recorded twice"
    late_parents = query(db_path, "SELECT id FROM programs WHERE parent_id >= id")
    assert late_parents == [], "a program names a parent stored after it"


def test_resuming_a_corrupt_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    fill(run_dir, INFO, 300)
    corrupt_programs_table(run_dir / DB_FILENAME)
    result = evoforge_cli("resume", str(run_dir))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(run_dir / DB_FILENAME) in result.stderr and "corrupt" in result.stderr
