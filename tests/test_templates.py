"""`evoforge init` writes a task that loads, validates and evaluates as it is."""

from __future__ import annotations

import asyncio
from pathlib import Path

from evoforge.config import load_config
from evoforge.runner import make_sandbox
from evoforge.task import load_task
from tests.integration.conftest import evoforge_cli


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
    assert config.llm.models[0].name == "gpt-4.1-mini"
    evaluation = asyncio.run(make_sandbox(task, config).evaluate(task.initial_code))
    assert evaluation.ok and evaluation.score < 0
    assert "note" in evaluation.artifacts


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("x")
    result = evoforge_cli("init", str(tmp_path / "busy"))
    assert result.returncode == 2 and "not empty" in result.stderr
