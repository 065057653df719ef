"""The distance ratio verifier scores 16 points exactly and rejects every crafted cheat."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.examples.helpers import Example, cheat, rejection_test, replaced

EXAMPLE = Example("distance_ratio_16_2d")
ratio_squared = EXAMPLE.verifier.ratio_squared


def grid(scale: float = 1.0, x0: float = 0.0) -> list[list[float]]:
    """The 4 × 4 grid: nearest neighbours at distance 1, opposite corners at √18, ratio² exactly 18."""
    return [[x0 + scale * i, scale * j] for i in range(4) for j in range(4)]


def with_item(index: int, value: object) -> list[object]:
    return replaced(grid(), index, value)


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


test_invalid_points_are_rejected_with_the_violated_rule = rejection_test(
    ratio_squared,
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


def test_evaluate_negates_the_ratio_of_the_returned_points_alone(tmp_path: Path) -> None:
    patches = (
        "import fractions\nfractions.Fraction.__truediv__ = lambda a, b: 1\n"
        "evaluate = lambda p: {'combined_score': -1.0}\n"
    )
    prelude = cheat("ratio_squared", "lambda obj: 1.0", 12.0, patches)
    honest, rule = EXAMPLE.run_cheat(tmp_path, prelude, grid(), [[0.0, 0.0]] * 16, numpy=True)
    assert honest["combined_score"] == -18.0 and honest["ratio_squared"] == 18.0
    assert rule == "points 0 and 1 coincide: the points must be distinct"
