"""The 32-circle packing verifier accepts exact feasible packings and rejects every crafted cheat."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.examples.helpers import Example, cheat, rejection_test, replaced

EXAMPLE = Example("circle_packing_32")
score_packing = EXAMPLE.verifier.score_packing


def grid_packing() -> list[list[float]]:
    """32 of the 36 circles of radius 1/12 on a 6 × 6 grid, each touching its neighbours: sum 32/12."""
    return [[(2 * i + 1) / 12, (2 * j + 1) / 12, 1 / 12] for i in range(6) for j in range(6)][:32]


def with_item(index: int, value: object) -> list[object]:
    return replaced(grid_packing(), index, value)


def test_touching_circles_are_feasible_and_score_their_exact_sum() -> None:
    assert score_packing(grid_packing()) == math.fsum([1 / 12] * 32)
    assert score_packing(with_item(31, [0.0, 1.0, 0.0])) == math.fsum([1 / 12] * 31)


test_invalid_packings_are_rejected_with_the_violated_rule = rejection_test(
    score_packing,
    [
        (with_item(1, [1 / 12, 3 / 12 - 0.01, 1 / 12]), "circles 0 and 1 overlap by 0.01"),
        (with_item(31, [0.95, 0.95, 0.1]), "circle 31 .* leaves the unit square"),
        (with_item(31, [0.5, -0.01, 0.0]), "leaves the unit square"),
        (with_item(31, [0.0, 0.0, -0.5]), "negative radius"),
        (with_item(4, [math.nan, 0.5, 0.1]), "expected a finite number"),
        (with_item(4, [0.5, 0.5, math.inf]), "expected a finite number"),
        (with_item(4, [0.5, 0.5, False]), "is bool"),
        (with_item(4, [0.5, 0.5]), "has 2 items, expected 3"),
        (grid_packing()[:31], "has 31 items, expected 32"),
        (2.9395727712, "is float, expected a list"),
    ],
)


def test_evaluate_scores_the_returned_circles_alone(tmp_path: Path) -> None:
    patches = "import math\nmath.hypot = lambda *a: 1e9\nmath.fsum = lambda xs: 100.0\nTOL = 1.0\n"
    prelude = cheat("score_packing", "lambda obj: 100.0", 3.0, patches)
    honest, rule = EXAMPLE.run_cheat(tmp_path, prelude, grid_packing(), [[0.5, 0.5, 0.3]] * 32, numpy=True)
    assert honest["combined_score"] == pytest.approx(32 / 12, abs=1e-12) and honest["valid"] == 1.0
    assert rule == "circles 0 and 1 overlap by 0.6"
