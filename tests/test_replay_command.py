"""`evoforge replay RUN_DIR --into NEW`: the recorded answers served again, every program re-evaluated."""

from __future__ import annotations

from pathlib import Path

from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import EVALUATOR, evoforge_cli, write_task

CONFIG = "iterations: 50\nllm:\n  max_inflight: 4\nevaluation:\n  timeout_s: 20\n  parallel: 2\n"


def _recorded_run(tmp_path: Path) -> tuple[Path, Path]:
    task = write_task(tmp_path, CONFIG)
    run_dir = tmp_path / "recorded"
    with ScriptedServer(tweak_constants_responder(seed=3)) as server:
        done = evoforge_cli(
            "run", str(task), "--run-dir", str(run_dir), "--model", "scripted", "--base-url", server.base_url
        )
    assert done.returncode == 0, done.stderr
    return task, run_dir


def test_a_replay_reproduces_every_program_and_metric(tmp_path: Path) -> None:
    task, run_dir = _recorded_run(tmp_path)
    result = evoforge_cli("replay", str(run_dir), "--into", str(tmp_path / "again"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "replay reproduced all 50 recorded programs" in result.stdout, result.stdout

    (task / "evaluator.py").write_text(EVALUATOR.replace("3.7", "3.75"))  # the evaluator changed since
    changed = evoforge_cli("replay", str(run_dir), "--into", str(tmp_path / "changed"))
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "metric combined_score: recorded" in changed.stdout, changed.stdout


def test_replay_into_an_existing_run_is_one_line(tmp_path: Path) -> None:
    _, run_dir = _recorded_run(tmp_path)
    result = evoforge_cli("replay", str(run_dir), "--into", str(run_dir))
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
