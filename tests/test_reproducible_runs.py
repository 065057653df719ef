"""Two runs with the same seed and a deterministic model store the same programs, ids included, whatever
the order in which their evaluations and model calls finish."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from evoforge.runfiles import DB_FILENAME
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

CONFIG = "iterations: 30\nseed: 11\nllm:\n  max_inflight: 4\nevaluation:\n  timeout_s: 20\n  parallel: 2\n"
# Every column but when a program was stored (created_at, eval_time_s, seq) and the row id of its model
# call, which counts calls in the order they finished; the calls themselves are compared by submission.
PROGRAM_COLUMNS = (
    "id, submission, code, parent_id, inspiration_ids, island, generation, mutator, metrics, artifacts, "
    "score, ok, features, repaired"
)
CALL_COLUMNS = "submission, model, messages, response, seed, operator, variant, error"


def _tables(run_dir: Path) -> tuple[list[tuple[object, ...]], ...]:
    db = sqlite3.connect(run_dir / DB_FILENAME)
    try:
        return (
            db.execute(f"SELECT {PROGRAM_COLUMNS} FROM programs ORDER BY id").fetchall(),
            db.execute(f"SELECT {CALL_COLUMNS} FROM llm_calls ORDER BY submission, seed").fetchall(),
            db.execute(
                "SELECT submission, kind, reason, parent_id FROM failed_generations ORDER BY submission"
            ).fetchall(),
        )
    finally:
        db.close()


def test_two_seeded_runs_store_identical_programs(tmp_path: Path) -> None:
    task = write_task(tmp_path, CONFIG)
    tables = []
    for name, latency_s in (("first", 0.0), ("second", 0.03)):  # other finishing orders, same programs
        with ScriptedServer(tweak_constants_responder(seed=5), latency_s=latency_s) as server:
            run = evoforge_cli(
                "run",
                str(task),
                "--run-dir",
                str(tmp_path / name),
                "--model",
                "m",
                "--base-url",
                server.base_url,
            )
        assert run.returncode == 0, run.stderr
        tables.append(_tables(tmp_path / name))
    (programs, calls, failures), again = tables
    assert len(programs) == 30 and [row[0] for row in programs] == [row[1] for row in programs]
    assert again == (programs, calls, failures)
    seeds = [row[4] for row in calls]
    assert len(set(seeds)) == len(seeds), "each request carries its own seed"
