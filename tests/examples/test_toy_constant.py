"""The toy example evaluates as documented, in the sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

from evoforge.config import load_config
from evoforge.runner import make_sandbox
from evoforge.task import load_task

EXAMPLE = Path(__file__).parents[2] / "examples" / "toy_constant"


def evaluate(code: str) -> object:
    task = load_task(EXAMPLE)
    config = load_config(task.config_path)
    return asyncio.run(make_sandbox(task, config).evaluate(code))


def test_initial_program_scores_minus_squared_distance() -> None:
    result = evaluate((EXAMPLE / "initial_program.py").read_text())
    assert result.ok and result.score == -((1.0 - 3.7) ** 2)


def test_optimum_scores_zero_and_non_numbers_fail() -> None:
    assert evaluate("def solve():\n    return 3.7\n").score == 0.0
    failed = evaluate("def solve():\n    return True\n")
    assert not failed.ok and "finite real number" in failed.error


def test_huge_integers_and_strings_fail_with_the_reason() -> None:
    for value in ("10**400", "'3.7'", "float('nan')"):
        failed = evaluate(f"def solve():\n    return {value}\n")
        assert not failed.ok and "finite real number" in failed.error
