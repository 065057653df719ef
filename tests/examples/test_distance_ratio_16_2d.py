"""The distance ratio verifier scores 16 points exactly and rejects every crafted cheat."""

from __future__ import annotations

import math
import runpy
from pathlib import Path
from typing import Any

import pytest

from evoforge.verify import RESULT_MARKER, InvalidObject

EXAMPLE = Path(__file__).parents[2] / "examples" / "distance_ratio_16_2d"
verifier = runpy.run_path(str(EXAMPLE / "evaluator.py"))
ratio_squared = verifier["ratio_squared"]


def grid(scale: float = 1.0, x0: float = 0.0) -> list[list[float]]:
    """The 4 × 4 grid: nearest neighbours at distance 1, opposite corners at √18, ratio² exactly 18."""
    return [[x0 + scale * i, scale * j] for i in range(4) for j in range(4)]


def evaluate(tmp_path: Path, body: str) -> Any:
    """The evaluator's answer for a candidate: a dict of metrics, or an EvaluationResult if infeasible."""
    path = tmp_path / "candidate.py"
    path.write_text(body)
    return verifier["evaluate"](str(path))


def with_item(index: int, value: object) -> list[object]:
    points: list[object] = list(grid())
    points[index] = value
    return points


@pytest.mark.parametrize(
    "points",
    [
        grid(),
        grid(scale=0.125, x0=-1e5),  # translation and scaling keep the ratio
        grid(scale=2.0**-1000),  # squared distances underflow to 0 in floats, never in rationals
    ],
)
def test_the_grid_scores_exactly_18_at_any_scale(points: list[list[float]]) -> None:
    assert ratio_squared(points) == 18.0


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (with_item(15, [0.0, 0.0]), "points 0 and 15 coincide"),
        (with_item(15, [5e-324, 0.0]), "points 0 and 15 are so close that the ratio overflows"),
        (with_item(3, [math.nan, 0.0]), "point 3 x is nan, expected a finite number"),
        (with_item(3, [0.0, math.inf]), "point 3 y is inf"),
        (with_item(3, [0.0, True]), "point 3 y is bool"),
        (with_item(3, [0.0, 2e6]), "out of range"),
        (with_item(3, [0.0, 1.0, 2.0]), "has 3 items, expected 2"),
        (grid()[:15], "has 15 items, expected 16"),
        (12.889266112, "is float, expected a list"),
    ],
)
def test_invalid_points_are_rejected_with_the_violated_rule(obj: object, reason: str) -> None:
    with pytest.raises(InvalidObject, match=reason):
        ratio_squared(obj)


def test_evaluate_negates_the_ratio(tmp_path: Path) -> None:
    metrics = evaluate(tmp_path, f"import numpy\ndef solve():\n    return numpy.array({grid()!r})\n")
    assert metrics["combined_score"] == -18.0 and metrics["ratio_squared"] == 18.0
    result = verifier["evaluate"](str(EXAMPLE / "initial_program.py"))
    assert result["valid"] == 1.0 and result["ratio_squared"] > 1.1 * verifier["BEST_KNOWN"]


def test_a_candidate_cannot_patch_the_scoring_or_print_a_fake_result(tmp_path: Path) -> None:
    fake = RESULT_MARKER + '{"result": 12.0}'
    cheat = (
        "import fractions, sys\n"
        "fractions.Fraction.__truediv__ = lambda a, b: 1\n"
        "for module in list(sys.modules.values()):\n"
        "    if hasattr(module, 'ratio_squared'):\n"
        "        module.ratio_squared = lambda obj: 1.0\n"
        "globals().update(ratio_squared=lambda obj: 1.0, evaluate=lambda p: {'combined_score': -1.0})\n"
        f"print({fake!r})\n"
    )
    assert evaluate(tmp_path, cheat + f"def solve():\n    return {grid()!r}\n")["ratio_squared"] == 18.0
    twin = evaluate(tmp_path, cheat + "def solve():\n    return [[0.0, 0.0]] * 16\n")
    assert twin.metrics["combined_score"] == -math.inf
    assert twin.artifacts["infeasible"] == "points 0 and 1 coincide: the points must be distinct"
