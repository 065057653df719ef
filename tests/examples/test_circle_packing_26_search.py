"""The search-mode circle packing example: its improver builds on the packing it is handed, and only the
packing it returns, verified, counts and is handed on."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from evoforge.improver import BUDGET_ENV, SOLUTION_ENV
from evoforge.records import EvaluationResult
from tests.examples.helpers import Example, broken_rule

EXAMPLE = Example("circle_packing_26_search")


def grid_packing() -> list[list[float]]:
    """26 of the 36 circles of radius 1/12 on a 6 × 6 grid: feasible, sum 26/12 ≈ 2.1667."""
    return [[(2 * i + 1) / 12, (2 * j + 1) / 12, 1 / 12] for i in range(6) for j in range(6)][:26]


def handed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, solution: object, budget_s: float) -> None:
    """What evoforge's sandbox does in search mode: the solution file beside the program, two variables."""
    (tmp_path / "best_solution.json").write_text(json.dumps(solution))
    monkeypatch.setenv(SOLUTION_ENV, "best_solution.json")
    monkeypatch.setenv(BUDGET_ENV, str(budget_s))


def evaluate_initial(tmp_path: Path) -> EvaluationResult:
    program = tmp_path / "initial_program.py"
    shutil.copy(EXAMPLE.directory / "initial_program.py", program)
    result = EXAMPLE.verifier.evaluate(str(program))
    assert isinstance(result, EvaluationResult)
    return result


def test_from_nothing_the_initial_program_returns_a_verified_packing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed(tmp_path, monkeypatch, None, 0.2)
    result = evaluate_initial(tmp_path)
    assert result.metrics["valid"] == 1.0 and result.metrics["received_solution"] is False
    assert result.metrics["combined_score"] == pytest.approx(EXAMPLE.verifier.score_packing(result.solution))
    assert result.metrics["combined_score"] >= 2.5637  # the seeded start, then only improvements


def test_handed_a_packing_the_initial_program_improves_it_or_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed(tmp_path, monkeypatch, grid_packing(), 1.0)
    result = evaluate_initial(tmp_path)
    assert result.metrics["received_solution"] is True
    assert result.metrics["combined_score"] > math.fsum([1 / 12] * 26)  # the grid has room for more


def test_the_returned_packing_is_verified_and_an_infeasible_one_is_not_handed_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed(tmp_path, monkeypatch, grid_packing(), 0.1)
    inflated = "def solve(best, budget_s):\n    best[0][2] = 0.5\n    return best\n"
    result = EXAMPLE.run(tmp_path, inflated)
    assert broken_rule(result).startswith("circle 0 at")  # leaves the square
    assert result.solution is None
    honest = EXAMPLE.run(tmp_path, "def solve(best, budget_s):\n    return best\n")
    assert honest.metrics["combined_score"] == math.fsum([1 / 12] * 26) and honest.solution == grid_packing()
