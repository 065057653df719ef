"""`evoforge verify RUN_DIR`: the best programs evaluated again N times, noise and drift flagged."""

from __future__ import annotations

import json
from pathlib import Path

from evoforge.testing.tasks import EVALUATOR, evoforge_cli, write_task

NOISY = EVALUATOR.replace(
    'return {"combined_score"', 'import random\n    return {"combined_score": random.random(), "x"'
)


def _run(tmp_path: Path) -> tuple[Path, Path]:
    task = write_task(tmp_path, "iterations: 6\nevaluation:\n  timeout_s: 20\n  parallel: 2\n")
    run_dir = tmp_path / "run"
    done = evoforge_cli("run", str(task), "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr
    return task, run_dir


def test_a_deterministic_evaluator_reproduces_every_stored_metric(tmp_path: Path) -> None:
    _, run_dir = _run(tmp_path)
    result = evoforge_cli("verify", str(run_dir), "--top", "2", "-n", "3", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert len(report["programs"]) == 2
    for program in report["programs"]:
        assert program["flags"] == [] and program["failures"] == []
        score = next(m for m in program["metrics"] if m["name"] == "combined_score")
        assert score["minimum"] == score["maximum"] == score["stored"] == program["stored_score"]


def test_a_noisy_evaluator_is_flagged(tmp_path: Path) -> None:
    task, run_dir = _run(tmp_path)
    (task / "evaluator.py").write_text(NOISY)
    result = evoforge_cli("verify", str(run_dir), "--top", "1", "-n", "4")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FLAGGED combined_score: varies between repeats" in result.stdout, result.stdout
    assert "mean" in result.stdout and "min" in result.stdout and "max" in result.stdout


def test_a_missing_run_is_one_line(tmp_path: Path) -> None:
    result = evoforge_cli("verify", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
