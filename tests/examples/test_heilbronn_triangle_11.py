"""The Heilbronn triangle verifier scores 11 points exactly and rejects every crafted cheat."""

from __future__ import annotations

import math
import runpy
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from evoforge.verify import RESULT_MARKER, InvalidObject

EXAMPLE = Path(__file__).parents[2] / "examples" / "heilbronn_triangle_11"
verifier = runpy.run_path(str(EXAMPLE / "evaluator.py"))
normalized_min_area = verifier["normalized_min_area"]
APEX = [0.5, math.sqrt(3) / 2]


def parabola() -> list[list[float]]:
    """Points (x, (x - 1/2)² + 1/64) at x = 3/16 … 13/16, all dyadic, all inside the triangle.

    For x-spacings d·i and d·j the triangle area is d³·i·j·(i + j)/2, smallest for neighbours:
    d³ = 1/4096 with d = 1/16.
    """
    return [[x, (x - 0.5) ** 2 + 1 / 64] for x in ((3 + i) / 16 for i in range(11))]


def with_item(index: int, value: object) -> list[object]:
    points: list[object] = list(parabola())
    points[index] = value
    return points


def evaluate(tmp_path: Path, body: str) -> Any:
    """The evaluator's answer for a candidate: a dict of metrics, or an EvaluationResult if infeasible."""
    path = tmp_path / "candidate.py"
    path.write_text(body)
    return verifier["evaluate"](str(path))


def test_points_on_a_parabola_score_their_exact_smallest_triangle() -> None:
    assert verifier["smallest_area"](verifier["parse_points"](parabola())) == Fraction(1, 4096)
    assert normalized_min_area(parabola()) == pytest.approx(1 / (1024 * math.sqrt(3)), rel=1e-15)


def test_corners_are_inside_and_collinear_points_score_exactly_zero() -> None:
    points = [[0.0, 0.0], [1.0, 0.0], APEX, *([0.1 * k, 0.0] for k in range(2, 10))]
    assert normalized_min_area(points) == 0.0
    assert normalized_min_area(with_item(10, APEX)) > 0


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (with_item(4, [0.5, -0.01]), r"point 4 at \(0.5, -0.01\) lies outside the triangle"),
        (with_item(4, [0.9, 0.5]), "point 4 .* lies outside the triangle"),
        (with_item(4, [0.0, 1e-9]), "point 4 .* lies outside the triangle"),
        (with_item(4, [APEX[0], APEX[1] + 1e-9]), "point 4 .* lies outside the triangle"),
        (with_item(4, [math.nan, 0.1]), "point 4 x is nan, expected a finite number"),
        (with_item(4, [0.5, -math.inf]), "point 4 y is -inf"),
        (with_item(4, [True, 0.1]), "point 4 x is bool"),
        (with_item(4, ["0.5", 0.1]), "point 4 x is str"),
        (with_item(4, [0.5]), "has 1 items, expected 2"),
        ([*parabola(), [0.5, 0.5]], "has 12 items, expected 11"),
        (0.0365298899, "is float, expected a list"),
    ],
)
def test_invalid_points_are_rejected_with_the_violated_rule(obj: object, reason: str) -> None:
    with pytest.raises(InvalidObject, match=reason):
        normalized_min_area(obj)


def test_evaluate_scores_the_returned_points(tmp_path: Path) -> None:
    metrics = evaluate(tmp_path, f"import numpy\ndef solve():\n    return numpy.array({parabola()!r})\n")
    assert metrics["combined_score"] == pytest.approx(1 / (1024 * math.sqrt(3)), rel=1e-15)
    result = verifier["evaluate"](str(EXAMPLE / "initial_program.py"))
    assert result["valid"] == 1.0 and result["combined_score"] < 0.9 * verifier["BEST_KNOWN"]


def test_a_candidate_cannot_patch_the_scoring_or_print_a_fake_result(tmp_path: Path) -> None:
    fake = RESULT_MARKER + '{"result": 0.05}'
    cheat = (
        "import builtins, math, sys\n"
        "math.sqrt = lambda x: 1e-9\n"
        "builtins.min = lambda *a, **k: 1.0\n"
        "for module in list(sys.modules.values()):\n"
        "    if hasattr(module, 'normalized_min_area'):\n"
        "        module.normalized_min_area = lambda obj: 1.0\n"
        "globals().update(normalized_min_area=lambda obj: 1.0, TOL=1.0)\n"
        f"print({fake!r})\n"
    )
    honest = evaluate(tmp_path, cheat + f"def solve():\n    return {parabola()!r}\n")
    assert honest["combined_score"] == pytest.approx(1 / (1024 * math.sqrt(3)), rel=1e-15)
    outside = evaluate(tmp_path, cheat + "def solve():\n    return [[0.5, 2.0]] * 11\n")
    assert outside.metrics["combined_score"] == -math.inf
    assert outside.artifacts["infeasible"] == "point 0 at (0.5, 2) lies outside the triangle"
