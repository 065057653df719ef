"""Task loading: what a user can get wrong is one TaskError naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.errors import TaskError
from evoforge.task import load_task

PROGRAM = "x = 1\n# EVOLVE-BLOCK-START\ny = 2\n# EVOLVE-BLOCK-END\n"
EVALUATOR = "def evaluate(program_path):\n    return {'score': 1.0}\n"


def make_task(tmp_path: Path, program: str | None = PROGRAM, evaluator: str | None = EVALUATOR) -> Path:
    task = tmp_path / "task"
    task.mkdir()
    if program is not None:
        (task / "initial_program.py").write_text(program)
    if evaluator is not None:
        (task / "evaluator.py").write_text(evaluator)
    return task


def test_valid_task_loads(tmp_path: Path) -> None:
    (tmp_path / "task").mkdir()
    task_dir = tmp_path / "task"
    (task_dir / "initial_program.py").write_text(PROGRAM)
    (task_dir / "evaluator.py").write_text(EVALUATOR)
    (task_dir / "context.md").write_text("Find y.\n")
    task = load_task(task_dir)
    assert task.name == "task"
    assert task.language == "python"
    assert task.context == "Find y."
    assert task.config_path is None


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="task folder not found"):
        load_task(tmp_path / "nope")


def test_missing_program(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="no initial_program"):
        load_task(make_task(tmp_path, program=None))


def test_missing_evaluator(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="evaluator not found"):
        load_task(make_task(tmp_path, evaluator=None))


def test_evaluator_without_evaluate(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"defines no evaluate\(program_path\)"):
        load_task(make_task(tmp_path, evaluator="def score(p):\n    return 1\n"))


def test_evaluator_syntax_error_names_line(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"evaluator\.py:2: syntax error"):
        load_task(make_task(tmp_path, evaluator="x = 1\ndef evaluate(:\n"))


def test_evaluate_may_be_imported(tmp_path: Path) -> None:
    load_task(make_task(tmp_path, evaluator="from helpers import evaluate\n"))


def test_program_without_block(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="EVOLVE-BLOCK"):
        load_task(make_task(tmp_path, program="x = 1\n"))


def test_task_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "task.py").write_text("")
    with pytest.raises(TaskError, match=r"task\.py: not a folder$"):
        load_task(tmp_path / "task.py")


@pytest.mark.parametrize("name", ["initial_program.py", "evaluator.py", "context.md"])
def test_a_file_that_is_not_utf8_is_named(tmp_path: Path, name: str) -> None:
    task = make_task(tmp_path)
    path = task / name
    path.write_bytes((path.read_bytes() if path.exists() else b"") + b"\n\xff\n")
    with pytest.raises(TaskError, match=rf"{name}: the \w+ is not UTF-8 text \(byte \d+\)$"):
        load_task(task)
