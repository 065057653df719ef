"""`evoforge init` writes a task that loads, validates and evaluates as it is."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import re
from pathlib import Path
from types import ModuleType

import evoforge
from evoforge import EvaluationResult
from evoforge.config import load_config
from evoforge.runner import make_sandbox
from evoforge.task import load_task
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli

TEMPLATES = Path(__file__).parents[1] / "evoforge" / "templates"
COMMENTED_KEY = re.compile(r"^(\s*)# ([a-z_]+: .*)$", re.MULTILINE)


def load_template_evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("template_evaluator", TEMPLATES / "evaluator.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_template_config_is_valid_with_every_commented_key_turned_on(tmp_path: Path) -> None:
    config = load_config(TEMPLATES / "config.yaml")
    assert config.llm.models[0].name == "gpt-4.1-mini" and config.target_score is None
    text = (TEMPLATES / "config.yaml").read_text()
    enabled, count = COMMENTED_KEY.subn(r"\1\2", text)
    assert count >= 10
    (tmp_path / "config.yaml").write_text(enabled)
    full = load_config(tmp_path / "config.yaml")
    assert full.target_score == 0.0 and full.evaluation.parallel == 2
    assert full.prompt.system_message == "Prefer vectorised numpy code."


def test_template_evaluator_scores_the_template_program_and_rejects_bad_objects(tmp_path: Path) -> None:
    evaluator = load_template_evaluator()
    result = evaluator.evaluate(str(TEMPLATES / "initial_program.py"))
    assert isinstance(result, EvaluationResult)
    assert result.metrics["combined_score"] == -(abs(math.sqrt(2) - 3) + abs(1.0 - 3))
    assert "distance" in result.artifacts["note"]
    rejections = {
        "[1.0]": "solve()'s result has 1 items, expected 2",
        "[True, 3.0]": "value 0 is bool, expected a real number",
        "[3.0, float('nan')]": "value 1 is nan, expected a finite number",
        "'3, 3'": "solve()'s result is str, expected a list",
    }
    for bad, reason in rejections.items():
        candidate = tmp_path / "candidate.py"
        candidate.write_text(f"def solve():\n    return {bad}\n")
        rejected = evaluator.evaluate(str(candidate))
        assert rejected.metrics["combined_score"] == -math.inf and rejected.artifacts["infeasible"] == reason


def test_init_scaffold_is_a_valid_task(tmp_path: Path) -> None:
    target = tmp_path / "my_task"
    result = evoforge_cli("init", str(target))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in target.iterdir()) == [
        "config.yaml",
        "context.md",
        "evaluator.py",
        "initial_program.py",
    ]
    task = load_task(target)
    config = load_config(task.config_path)
    evaluation = asyncio.run(make_sandbox(task, config).evaluate(task.initial_code))
    assert evaluation.ok and evaluation.score < 0
    assert "note" in evaluation.artifacts


def test_init_then_a_five_iteration_run(tmp_path: Path) -> None:
    """The scaffold end to end, as the README's first steps run it, with a model that tunes constants."""
    target = tmp_path / "my_task"
    assert evoforge_cli("init", str(target)).returncode == 0
    with ScriptedServer(tweak_constants_responder(seed=3)) as server:
        run = evoforge_cli(
            "run", str(target), "--run-dir", str(tmp_path / "run"), "--iterations", "5",
            "--model", "scripted", "--base-url", server.base_url,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    with evoforge.load_run(tmp_path / "run") as view:
        programs = view.programs()
    assert len(programs) == 5 and all(p.ok and math.isfinite(p.score) for p in programs)
    best = max(p.score for p in programs)
    assert (tmp_path / "run" / "best_program.py").read_text() in {p.code for p in programs if p.score == best}


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("x")
    result = evoforge_cli("init", str(tmp_path / "busy"))
    assert result.returncode == 2 and "not empty" in result.stderr
