"""Task folders written to OpenEvolve's contract run unchanged, their config.yaml included."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from evoforge.runfiles import DB_FILENAME
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli

PROGRAM = '''"""A constant to find, OpenEvolve style."""
# EVOLVE-BLOCK-START
def solve():
    return 1.0
# EVOLVE-BLOCK-END
'''

EVALUATOR = """import importlib.util

from openevolve.evaluation_result import EvaluationResult


def _solve(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.solve()


def evaluate_stage1(program_path):
    try:
        value = float(_solve(program_path))
    except Exception as error:
        return {"combined_score": 0.0, "error": str(error)}
    open(program_path + ".stage1", "w").close()
    return {"combined_score": 1.0 / (1.0 + abs(value - 3.7))}


def evaluate_stage2(program_path):
    value = float(_solve(program_path))
    result = EvaluationResult(
        metrics={"combined_score": 1.0 / (1.0 + abs(value - 3.7)), "value": value},
        artifacts={"note": f"solve() returned {value}"},
    )
    assert result.get_artifact_size("note") > 0
    return result


def evaluate(program_path):
    return evaluate_stage2(program_path)
"""

CONFIG = """max_iterations: 12
checkpoint_interval: 5
random_seed: 7
log_level: INFO
diff_based_evolution: true
max_code_length: 20000
llm:
  primary_model: scripted
  primary_model_weight: 0.8
  secondary_model: scripted-b
  secondary_model_weight: 0.2
  api_base: {base_url}
  temperature: 0.7
  max_tokens: 4096
  timeout: 60
prompt:
  system_message: You are an expert programmer.
  num_top_programs: 2
database:
  population_size: 50
  archive_size: 20
  num_islands: 2
  elite_selection_ratio: 0.2
  exploitation_ratio: 0.7
evaluator:
  timeout: 60
  cascade_thresholds: [0.1]
  parallel_evaluations: 2
"""


def openevolve_task(root: Path, base_url: str) -> Path:
    task = root / "function_minimization"
    task.mkdir()
    (task / "initial_program.py").write_text(PROGRAM)
    (task / "evaluator.py").write_text(EVALUATOR)
    (task / "config.yaml").write_text(CONFIG.format(base_url=base_url))
    return task


def test_an_openevolve_task_runs_unchanged(tmp_path: Path) -> None:
    with ScriptedServer(tweak_constants_responder(seed=1)) as server:
        task = openevolve_task(tmp_path, server.base_url)
        result = evoforge_cli("run", str(task), "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert "OpenEvolve key 'checkpoint_interval' has no evoforge equivalent" in result.stderr
    assert "OpenEvolve key 'database.population_size' has no evoforge equivalent" in result.stderr
    db = sqlite3.connect(tmp_path / "run" / DB_FILENAME)
    config = json.loads(db.execute("SELECT config FROM run").fetchone()[0])
    assert [m["name"] for m in config["llm"]["models"]] == ["scripted", "scripted-b"]
    assert config["evaluation"]["cascade"]["thresholds"] == [0.1] and config["seed"] == 7
    assert db.execute("SELECT COUNT(*) FROM programs").fetchone()[0] == 12
    metrics, artifacts = db.execute("SELECT metrics, artifacts FROM programs WHERE id = 0").fetchone()
    assert set(json.loads(metrics)) == {
        "combined_score",
        "value",
    }  # stage 2 ran: the cascade as in OpenEvolve
    assert json.loads(artifacts)["note"] == "solve() returned 1.0"
    assert db.execute("SELECT COUNT(*) FROM stages WHERE passed = 2").fetchone()[0] >= 1


def test_text_metrics_of_an_openevolve_evaluator_become_artifacts(tmp_path: Path) -> None:
    task = openevolve_task(tmp_path, "http://127.0.0.1:9/v1")
    broken = tmp_path / "broken.py"
    broken.write_text(PROGRAM.replace("return 1.0", "return 'many'"))
    result = evoforge_cli("eval", str(task), str(broken), "--json")
    report = json.loads(result.stdout)
    assert report["ok"], result.stdout + result.stderr
    assert report["metrics"] == {"combined_score": 0.0}  # stage 1 failed its gate: stage 2 never ran
    assert "could not convert string to float" in report["artifacts"]["error"]


def test_an_installed_openevolve_takes_precedence(tmp_path: Path) -> None:
    task = openevolve_task(tmp_path, "http://127.0.0.1:9/v1")
    own = task / "openevolve"  # first on the evaluator's path, as an installed package would be
    own.mkdir()
    (own / "__init__.py").write_text("")
    (own / "evaluation_result.py").write_text(
        "class EvaluationResult:\n"
        "    def __init__(self, metrics, artifacts=None):\n"
        "        self.metrics, self.artifacts = metrics, {'from': 'installed'}\n"
        "    def get_artifact_size(self, key):\n        return 1\n"
    )
    result = evoforge_cli("eval", str(task), str(task / "initial_program.py"), "--json")
    assert json.loads(result.stdout)["artifacts"] == {"from": "installed"}, result.stdout + result.stderr
