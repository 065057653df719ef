"""The object shapes evoforge.verify checks for several examples: step heights, rows, circles, convolution.

Each example's own tests check that it wires these in (its limits, its wording); the rules
themselves are tested once, here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from evoforge.verify import fft_convolution, rows, scaled_heights, step_values
from tests.examples.helpers import rejection_test


def test_heights_are_scaled_to_maximum_one_even_when_denormal() -> None:
    assert scaled_heights([3e-320, 6e-320], 10, if_all_zero="f = 0").tolist() == [0.5, 1.0]
    assert step_values([0, 0.25], 10, "values", "h[{}]") == [0.0, 0.25]


test_bad_heights_are_rejected_with_the_item_and_the_rule = rejection_test(
    lambda obj: scaled_heights(obj, 10, if_all_zero="f = 0"),
    [
        ([1.0, -0.5, 1.0], r"^height 1 is negative \(-0.5\); f must be >= 0$"),
        ([0.0, 0.0], "^all heights are zero, so f = 0$"),
        ([1.0, math.nan], "^height 1 is nan, expected a finite number$"),
        ([math.inf, 1.0], "^height 0 is inf, expected a finite number$"),
        ([1.0, -math.inf], "height 1 is -inf"),
        ([1.0, True], "^height 1 is bool, expected a real number$"),
        ([1.0, "2"], "height 1 is str"),
        ([1.0, 1j], "height 1 is complex"),
        ([[1.0, 2.0]], "height 0 is list"),
        ([1.0, 1e7], r"^height 1 = 1e\+07 is out of range \(\|value\| <= 1e\+06\)$"),
        ([], "^solve\\(\\)'s result has 0 heights, expected 1 to 10$"),
        ([1.0] * 11, "has 11 heights, expected 1 to 10"),
        (1.5, "^solve\\(\\)'s result is float, expected a list$"),
    ],
)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (5, 3), (64, 64), (1000, 1)])
def test_fft_convolution_matches_the_direct_sum(n: int, m: int) -> None:
    rng = np.random.default_rng(n + m)
    a, b = rng.random(n), rng.random(m)
    assert np.allclose(fft_convolution(a, b), np.convolve(a, b), rtol=0, atol=1e-12 * n)


test_bad_rows_are_rejected_with_the_row_and_the_coordinate = rejection_test(
    lambda obj: rows(obj, 2, "point", "xy", 10.0),
    [
        ([[0.0, 0.0]], "^solve\\(\\)'s result has 1 items, expected 2$"),
        ([[0.0, 0.0], [0.0]], r"^point 1 \[x, y\] has 1 items, expected 2$"),
        ([[0.0, 0.0], (0.0, 1.0, 2.0)], r"^point 1 \[x, y\] is tuple, expected a list$"),
        ([[0.0, 0.0], [0.0, math.nan]], "^point 1 y is nan, expected a finite number$"),
        ([[False, 0.0], [0.0, 1.0]], "^point 0 x is bool"),
        ([[0.0, 0.0], [0.0, -11.0]], r"^point 1 y = -11 is out of range \(\|value\| <= 10\)$"),
    ],
)
