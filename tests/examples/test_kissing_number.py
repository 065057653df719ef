"""The kissing verifier accepts root systems with their exact size, in exact integer arithmetic."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from evoforge.verify import InvalidObject
from tests.examples.helpers import Example, broken_rule, cheat, rejection_test, returning

EXAMPLE = Example("kissing_number")
score_points = EXAMPLE.verifier.score_points


def root_system(d: int, scale: int = 1) -> list[list[int]]:
    """D_d: every vector with two coordinates ±scale and the rest 0; 2d(d-1) points."""
    points = []
    for i, j in itertools.combinations(range(d), 2):
        for a, b in itertools.product((scale, -scale), repeat=2):
            point = [0] * d
            point[i], point[j] = a, b
            points.append(point)
    return points


@pytest.mark.parametrize(("d", "best"), [(3, 12), (4, 24), (5, 40)])
def test_root_systems_reach_the_known_kissing_numbers(d: int, best: int) -> None:
    assert score_points(root_system(d), d) == best


def test_huge_integers_are_checked_exactly() -> None:
    points = root_system(3, scale=10**60)
    assert score_points(points, 3) == 12
    # One unit off in the 120-digit squared distances: a float check could not see it.
    points[0] = [points[0][0] + 1, points[0][1], 0]
    with pytest.raises(InvalidObject, match="too close"):
        score_points(points, 3)


test_invalid_sets_are_rejected_with_the_violated_rule = rejection_test(
    lambda obj: score_points(obj, 3),
    [
        ([*root_system(3), [1, 1, 1]], r"points 0 and 4 are too close: \|x - y\|² = 2 < max \|x\|² = 3"),
        ([*root_system(3), [1, 1, 0]], r"points 0 and 12 are too close: \|x - y\|² = 0"),
        ([*root_system(3)[:5], [0, 0, 0]], "point 5 is the origin"),
        ([[1, 1, 0.0]], "point 0 coordinate 2 is float, expected an integer"),
        ([[1, True, 0]], "coordinate 1 is bool"),
        ([[1, 1]], "point 0 has 2 items, expected 3"),
        ([[10**101, 0, 0]], "out of range"),
        ({"points": root_system(3)}, "is dict, expected a list"),
        ([[1, 0, 0]] * 2001, "at most 2000 are verified"),
    ],
)


def test_a_candidate_cannot_patch_the_verifier_or_print_a_fake_result(tmp_path: Path) -> None:
    prelude = cheat(
        "score_points",
        "lambda obj, d=11: 593",
        593,
        "import builtins\nbuiltins.sum = lambda *a: 10**9\nD = 1\n",
    )
    body = prelude + returning(root_system(11))
    assert EXAMPLE.run(tmp_path, body)["combined_score"] == 220.0


def test_an_invalid_candidate_scores_minus_infinity_with_the_pair(tmp_path: Path) -> None:
    result = EXAMPLE.run(tmp_path, returning([[1] + [0] * 10, [2] + [0] * 10]))
    assert "points 0 and 1 are too close" in broken_rule(result)


def test_initial_program_is_valid_and_far_from_the_record() -> None:
    metrics = EXAMPLE.run_initial()
    assert metrics == {"combined_score": 220.0, "valid": 1.0, "target_ratio": 220 / 593}
