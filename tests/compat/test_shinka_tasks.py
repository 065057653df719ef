"""A task folder written to ShinkaEvolve's contract (initial.py, evaluate.py as a script) runs unchanged."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from evoforge.runfiles import DB_FILENAME
from evoforge.testing.tasks import evoforge_cli

INITIAL = '''"""ShinkaEvolve style: evaluate.py calls run_experiment."""
# EVOLVE-BLOCK-START
def run_experiment(seed):
    return 1.5 + 0.0 * seed
# EVOLVE-BLOCK-END
'''

EVALUATE = """import argparse

from shinka.core import run_shinka_eval


def validate(result):
    if not isinstance(result, (int, float)):
        return False, f"run_experiment returned {type(result).__name__}"
    return result >= 0, "negative"


def aggregate(results):
    value = float(results[0])
    return {
        "combined_score": -abs(value - 3.7),
        "public": {"value": value, "note": "closer to 3.7 is better"},
        "private": {"runs": float(len(results))},
        "text_feedback": f"the experiment returned {value}",
    }


def main(program_path, results_dir):
    run_shinka_eval(
        program_path=program_path,
        results_dir=results_dir,
        experiment_fn_name="run_experiment",
        num_runs=2,
        validate_fn=validate,
        aggregate_metrics_fn=aggregate,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path", type=str, default="initial.py")
    parser.add_argument("--results_dir", type=str, default="results")
    args = parser.parse_args()
    main(args.program_path, args.results_dir)
"""


def shinka_task(root: Path) -> Path:
    task = root / "shinka_task"
    task.mkdir()
    (task / "initial.py").write_text(INITIAL)
    (task / "evaluate.py").write_text(EVALUATE)
    return task


def test_a_shinkaevolve_task_runs(tmp_path: Path) -> None:
    task = shinka_task(tmp_path)
    result = evoforge_cli("run", str(task), "--run-dir", str(tmp_path / "run"), "--iterations", "8")
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(tmp_path / "run" / DB_FILENAME)
    metrics, artifacts = (
        json.loads(t) for t in db.execute("SELECT metrics, artifacts FROM programs WHERE id = 0").fetchone()
    )
    assert metrics["combined_score"] == -2.2 and metrics["value"] == 1.5 and metrics["private_runs"] == 2.0
    assert metrics["num_valid_runs"] == 2 and metrics["num_invalid_runs"] == 0
    assert artifacts["text_feedback"] == "the experiment returned 1.5"
    assert db.execute("SELECT COUNT(*) FROM programs").fetchone()[0] == 8
    assert (
        db.execute("SELECT MAX(score) FROM programs").fetchone()[0] > -2.2
    )  # the offline mutators improved it


def test_an_incorrect_result_is_a_failed_evaluation(tmp_path: Path) -> None:
    task = shinka_task(tmp_path)
    negative = tmp_path / "negative.py"
    negative.write_text(INITIAL.replace("return 1.5", "return -1.5"))
    result = evoforge_cli("eval", str(task), str(negative), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 1 and not report["ok"], result.stdout + result.stderr
    assert report["error"] == "incorrect: Validation failed: negative"
