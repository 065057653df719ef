"""A run owns one sandbox and closes it on every way out: no launcher left running, no staged copy
and no scratch directory left on disk, whether the run finished or failed at its start.

Observed from the evaluations themselves: each reports the evaluator file it was loaded from (the
sandbox's staged copy, or the task's own file without staging), its launcher (its parent process)
and its scratch directory; the launchers are this test process's children (the API runs in it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import evoforge
from evoforge.errors import ProviderError, TaskError
from evoforge.testing.processes import children
from evoforge.testing.scripted_server import Fault, ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

WHERE = """import importlib.util, json, os

from evoforge import EvaluationResult


def evaluate(program_path):
    where = json.dumps({"evaluator": __file__, "launcher": os.getppid(), "scratch": os.getcwd()})
    if "FAIL" in open(program_path).read():
        raise RuntimeError("where=" + where)
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return EvaluationResult({"combined_score": -((module.solve() - 3.7) ** 2)}, {"where": where})
"""


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="watches processes in /proc")


def task_reporting_where(tmp_path: Path, program_marker: str = "") -> Path:
    task = write_task(tmp_path, "evaluation:\n  timeout_s: 20\n  parallel: 1\n")
    (task / "evaluator.py").write_text(WHERE)
    if program_marker:
        program = task / "initial_program.py"
        program.write_text(program.read_text() + f"# {program_marker}\n")
    return task


def assert_removed(places: list[dict[str, object]], task: Path) -> None:
    for place in places:
        evaluator = Path(str(place["evaluator"]))
        if evaluator.parent != task:  # a staged copy
            assert not evaluator.exists(), evaluator
        assert not Path(str(place["scratch"])).exists(), place["scratch"]


def test_a_run_builds_one_sandbox_and_closes_it(tmp_path: Path) -> None:
    task = task_reporting_where(tmp_path)
    before = children()
    result = evoforge.evolve(task, run_dir=tmp_path / "run", iterations=6)
    assert result.evaluated == 6
    with evoforge.load_run(tmp_path / "run") as run:
        places = [json.loads(p.artifacts["where"]) for p in run.programs() if p.ok]
    assert len(places) >= 2  # the initial program and at least one child
    # One sandbox with one slot, never retired: one staged evaluator and one launcher for the whole run.
    assert len({(p["evaluator"], p["launcher"]) for p in places}) == 1, places
    assert children() <= before
    assert_removed(places, task)


def test_a_run_that_fails_at_its_start_closes_its_sandbox(tmp_path: Path) -> None:
    task = task_reporting_where(tmp_path, program_marker="FAIL")
    before = children()
    with pytest.raises(TaskError, match="the initial program failed evaluation") as failure:
        evoforge.evolve(task, run_dir=tmp_path / "run", iterations=6)
    where = json.loads(str(failure.value).split("where=", 1)[1])
    assert children() <= before
    assert_removed([where], task)


def test_a_run_stopped_by_a_fatal_model_error_closes_its_sandbox(tmp_path: Path) -> None:
    task = task_reporting_where(tmp_path)
    before = children()
    with ScriptedServer(["no answer"], faults={0: Fault.UNAUTHORIZED}) as server:
        models = [{"name": "scripted", "base_url": server.base_url}]
        with pytest.raises(ProviderError):
            evoforge.evolve(task, run_dir=tmp_path / "run", iterations=6, llm__models=models)
    with evoforge.load_run(tmp_path / "run") as run:
        places = [json.loads(p.artifacts["where"]) for p in run.programs()]
    assert len(places) == 1  # the initial program, evaluated before the first model call
    assert children() <= before
    assert_removed(places, task)


def test_evoforge_eval_closes_its_sandbox(tmp_path: Path) -> None:
    task = task_reporting_where(tmp_path)
    done = evoforge_cli("eval", str(task), str(task / "initial_program.py"), "--json")
    assert done.returncode == 0, done.stderr
    assert_removed([json.loads(json.loads(done.stdout)["artifacts"]["where"])], task)
