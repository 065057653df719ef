"""The minimum overlap verifier scores step functions exactly and rejects every crafted cheat."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from evoforge.verify import MAX_STEPS
from tests.examples.helpers import Example, cheat, rejection_test, scoring_test

EXAMPLE = Example("erdos_min_overlap")
overlap = EXAMPLE.verifier.overlap


# h = [3/4, 1/4], 1 - h = [1/4, 3/4]: shifts give 3/8 (k = 0), 1/16 (k = 1) and 9/16 (k = -1); 2/n = 1.
test_valid_functions_score_their_exact_overlap = scoring_test(
    overlap,
    [
        ([0.75, 0.25], 9 / 16),
        ([1.0, 0.0], 1.0),  # the indicator of [0, 1]: shifting by 1 overlaps it completely
        ([0.5] * 1000, 0.5),  # constant 1/2: Σ_i h_i (1 - h_i) = n/4 at k = 0
        ([0.5 + 1e-10, 0.5], 0.5),  # the sum is within the 1e-9 tolerance of n/2
    ],
)


def test_the_overlap_is_the_maximum_over_every_shift() -> None:
    h = np.random.default_rng(1).uniform(0.25, 0.75, 9)
    h = (h - h.mean() + 0.5).tolist()
    brute = max(sum(h[i + k] * (1 - h[i]) for i in range(9) if 0 <= i + k < 9) for k in range(-8, 9))
    assert overlap(h) == pytest.approx(2 / 9 * brute, rel=1e-12)


test_invalid_functions_are_rejected_with_the_violated_rule = rejection_test(
    overlap,
    [
        ([1.5, -0.5], r"h\[0\] = 1.5 is outside \[0, 1\]"),
        ([0.5, -0.0001, 0.5001, 0.5], r"h\[1\] = -0.0001 is outside \[0, 1\]"),
        ([0.5, 0.5 - 1e-8], "the values sum to 0.99999999.*, expected n/2 = 1"),
        ([0.5, math.nan], "h\\[1\\] is nan, expected a finite number"),
        ([], "has 0 values, expected 1 to"),
        ([0.5] * (MAX_STEPS + 1), f"has {MAX_STEPS + 1} values"),
    ],
)


def test_evaluate_negates_the_overlap_of_the_returned_function_alone(tmp_path: Path) -> None:
    patches = "import math, numpy\nnumpy.max = lambda *a, **k: 0.0\nmath.fsum = lambda xs: len(xs) / 2\n"
    prelude = cheat("overlap", "lambda obj: 0.3", 0.3, patches + "SUM_TOL = 1e9\n")
    honest, rule = EXAMPLE.run_cheat(tmp_path, prelude, [0.75, 0.25], [0.25, 0.25], numpy=True)
    value, best = 9 / 16, EXAMPLE.verifier.BEST_KNOWN
    expected = {"combined_score": -value, "overlap": value, "valid": 1.0, "target_ratio": best / value}
    assert honest == pytest.approx(expected, rel=1e-12)
    assert rule.startswith("the values sum to 0.5, expected n/2 = 1")
