"""The toy example evaluates as documented, in the sandbox."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from evoforge.config import load_config
from evoforge.records import Evaluation
from evoforge.runner import make_sandbox
from evoforge.task import load_task

EXAMPLE = Path(__file__).parents[2] / "examples" / "toy_constant"


def evaluate(code: str) -> Evaluation:
    task = load_task(EXAMPLE)
    with make_sandbox(task, load_config(task.config_path)) as sandbox:
        return asyncio.run(sandbox.evaluate(code))


def test_initial_program_scores_minus_squared_distance() -> None:
    result = evaluate((EXAMPLE / "initial_program.py").read_text())
    assert result.ok and result.score == -((1.0 - 3.7) ** 2)
    assert result.metrics == {"combined_score": -((1.0 - 3.7) ** 2), "value": 1.0}


def test_optimum_scores_zero() -> None:
    assert evaluate("def solve():\n    return 3.7\n").score == 0.0


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("True", "solve()'s result is bool, expected a real number"),
        ("'3.7'", "solve()'s result is str, expected a real number"),
        ("10**400", "solve()'s result is out of range"),
        ("1e7", "solve()'s result = 1e+07 is out of range (|value| <= 1e+06)"),
        ("float('nan')", "solve()'s result is nan, expected a finite number"),
        (
            "complex(3.7, 0)",
            "solve() returned data that is not plain numbers: complex is not a list or a number",
        ),
    ],
)
def test_anything_but_a_finite_real_scores_minus_inf_with_the_reason(value: str, reason: str) -> None:
    result = evaluate(f"def solve():\n    return {value}\n")
    assert result.score == -math.inf and result.artifacts["infeasible"] == reason


def test_a_crashing_solve_fails_with_its_error() -> None:
    result = evaluate("def solve():\n    raise ValueError('no idea')\n")
    assert not result.ok and "ValueError: no idea" in result.error
