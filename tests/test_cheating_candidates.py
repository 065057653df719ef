"""What users copy cannot be cheated: the `evoforge init` scaffold and examples/toy_constant score a
cheating candidate (evoforge.testing.cheats) exactly as its honest answer, in the real sandbox and in
a model-driven run where the model proposes nothing but cheats."""

from __future__ import annotations

import asyncio
import itertools
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import evoforge
from evoforge.config import SandboxConfig, load_config
from evoforge.evaluation.layers import plan_sandbox
from evoforge.evaluation.sandbox import Sandbox
from evoforge.runner import make_sandbox
from evoforge.task import load_task
from evoforge.testing.cheats import every_cheat
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli

TOY = Path(__file__).parents[1] / "examples" / "toy_constant"


@dataclass(frozen=True)
class Target:
    """A task people copy, an honest solve() for it, and the cheats aimed at its evaluator."""

    honest_solve: str
    honest_score: float
    cheats: dict[str, str]
    run_settings: dict[str, float] = field(default_factory=dict)  # beyond the task's config.yaml


TARGETS = {
    "scaffold": Target(
        "def solve():\n    return [1.0, 1.0]\n",
        -4.0,
        every_cheat({"TARGET": 1.0}, claimed=3.0),
        run_settings={"target_score": 0.0},  # the scaffold's config has no target; the toy's is -1e-6
    ),
    "toy_constant": Target(
        "def solve():\n    return 1.0\n", -((1.0 - 3.7) ** 2), every_cheat({"OPTIMUM": 1.0}, claimed=3.7)
    ),
}
# The cheats that end before solve() returns, and the error their evaluation fails with.
FAILS_WITH = {
    "forge_the_result_then_exit": "the candidate failed: exit code 0",
    "forge_the_result_then_kill_the_parent": "killed by signal SIGKILL",
}
# As root without a separate uid (a checkout other uids cannot read turns that layer off), a candidate is
# root: it can open the evaluator's result pipe through /proc whatever else confines it (docs/security.md).
CANDIDATES_ARE_ROOT = os.geteuid() == 0 and plan_sandbox(SandboxConfig()).uid_base is None
not_as_root = pytest.mark.skipif(
    CANDIDATES_ARE_ROOT,
    reason="candidates run as root here (no separate uid): root can forge the pipe",
)
CASES = [
    pytest.param(name, cheat, marks=[not_as_root] if cheat.startswith("forge") else [])
    for name, target in TARGETS.items()
    for cheat in target.cheats
]


@pytest.fixture(scope="module")
def task_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The scaffold as `evoforge init` writes it, and the toy example."""
    scaffold = tmp_path_factory.mktemp("init") / "my_task"
    created = evoforge_cli("init", str(scaffold))
    assert created.returncode == 0, created.stderr
    return {"scaffold": scaffold, "toy_constant": TOY}


@pytest.fixture(scope="module")
def sandboxes(task_dirs: dict[str, Path]) -> Iterator[dict[str, Sandbox]]:
    """One real sandbox per task, with the layers its config asks for, as a run builds it."""
    opened = {}
    for name, directory in task_dirs.items():
        task = load_task(directory)
        opened[name] = make_sandbox(task, load_config(task.config_path))
    yield opened
    for sandbox in opened.values():
        sandbox.close()


def test_the_honest_answer_scores_as_expected(sandboxes: dict[str, Sandbox]) -> None:
    for name, target in TARGETS.items():
        result = asyncio.run(sandboxes[name].evaluate(target.honest_solve))
        assert result.ok and result.score == target.honest_score, (name, result.error)


@pytest.mark.parametrize(("name", "cheat"), CASES)
def test_a_cheating_candidate_scores_no_more_than_its_honest_answer(
    sandboxes: dict[str, Sandbox], name: str, cheat: str
) -> None:
    target = TARGETS[name]
    result = asyncio.run(sandboxes[name].evaluate(target.cheats[cheat] + target.honest_solve))
    if cheat in FAILS_WITH:  # it never returns an object: the evaluation fails
        assert not result.ok and result.score == -math.inf and FAILS_WITH[cheat] in str(result.error)
    else:
        assert result.ok and result.score == target.honest_score, result.error


def cheating_responder(openings: list[str]) -> Any:
    """A model that answers every prompt with a cheat put before the program's solve()."""
    turn = itertools.count()

    def respond(request: dict[str, Any]) -> str:
        opening = openings[next(turn) % len(openings)]
        return f"<<<<<<< SEARCH\ndef solve():\n=======\n{opening}def solve():\n>>>>>>> REPLACE\n"

    return respond


@not_as_root
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_model_proposing_only_cheats_never_gets_a_better_program(
    task_dirs: dict[str, Path], tmp_path: Path, name: str
) -> None:
    cheats = TARGETS[name].cheats
    with ScriptedServer(cheating_responder(list(cheats.values()))) as server:
        result = evoforge.evolve(
            task_dirs[name],
            run_dir=tmp_path / "run",
            iterations=12,
            **TARGETS[name].run_settings,
            llm__models=[{"name": "scripted", "base_url": server.base_url}],
            llm__max_inflight=2,
            evaluation__parallel=2,
        )
    initial = (task_dirs[name] / "initial_program.py").read_text()
    assert result.evaluated == 12 and "target" not in result.stop_reason
    assert result.best_code == initial
    with evoforge.load_run(tmp_path / "run") as run:
        programs = run.programs()
    initial_score = next(p.score for p in programs if p.code == initial)
    children = [p for p in programs if p.code != initial]
    assert len(children) == 11 and max(p.score for p in children) <= initial_score
    for cheat, opening in cheats.items():  # each cheat was really evaluated
        assert any(opening in p.code for p in children), cheat
