"""The Heilbronn triangle verifier scores 11 points exactly and rejects every crafted cheat."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest

from tests.examples.helpers import Example, cheat, rejection_test, replaced

EXAMPLE = Example("heilbronn_triangle_11")
verifier = EXAMPLE.verifier
normalized_min_area = verifier.normalized_min_area
APEX = [0.5, math.sqrt(3) / 2]


def parabola() -> list[list[float]]:
    """Points (x, (x - 1/2)² + 1/64) at x = 3/16 … 13/16, all dyadic, all inside the triangle.

    For x-spacings d·i and d·j the triangle area is d³·i·j·(i + j)/2, smallest for neighbours:
    d³ = 1/4096 with d = 1/16.
    """
    return [[x, (x - 0.5) ** 2 + 1 / 64] for x in ((3 + i) / 16 for i in range(11))]


def with_item(index: int, value: object) -> list[object]:
    return replaced(parabola(), index, value)


def test_points_on_a_parabola_score_their_exact_smallest_triangle() -> None:
    assert verifier.smallest_area(verifier.parse_points(parabola())) == Fraction(1, 4096)
    assert normalized_min_area(parabola()) == pytest.approx(1 / (1024 * math.sqrt(3)), rel=1e-15)


def test_corners_are_inside_and_collinear_points_score_exactly_zero() -> None:
    points = [[0.0, 0.0], [1.0, 0.0], APEX, *([0.1 * k, 0.0] for k in range(2, 10))]
    assert normalized_min_area(points) == 0.0
    assert normalized_min_area(with_item(10, APEX)) > 0


test_invalid_points_are_rejected_with_the_violated_rule = rejection_test(
    normalized_min_area,
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


def test_evaluate_scores_the_returned_points_alone(tmp_path: Path) -> None:
    patches = (
        "import builtins, math\nmath.sqrt = lambda x: 1e-9\nbuiltins.min = lambda *a, **k: 1.0\nTOL = 1.0\n"
    )
    prelude = cheat("normalized_min_area", "lambda obj: 1.0", 0.05, patches + "TOL = 1.0\n")
    honest, rule = EXAMPLE.run_cheat(tmp_path, prelude, parabola(), [[0.5, 2.0]] * 11)
    assert honest["combined_score"] == pytest.approx(1 / (1024 * math.sqrt(3)), rel=1e-15)
    assert rule == "point 0 at (0.5, 2) lies outside the triangle"
