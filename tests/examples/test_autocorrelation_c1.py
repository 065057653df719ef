"""The C1 autocorrelation verifier scores step functions exactly and rejects every crafted cheat."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.verify import MAX_STEPS
from tests.examples.helpers import Example, cheat, rejection_test, scoring_test

EXAMPLE = Example("autocorrelation_c1")
c1_bound = EXAMPLE.verifier.c1_bound


test_valid_heights_score_their_exact_bound = scoring_test(
    c1_bound,
    [
        ([1.0, 2.0], 16 / 9),  # a∗a = [1, 4, 4]: 2·2·4 / 3²
        ([1, 0, 0, 1], 4.0),  # a∗a = [1, 0, 0, 2, 0, 0, 1]: 2·4·2 / 2²
        ([3e-320, 6e-320], 16 / 9),  # denormal heights: (Σa)² would underflow to 0 without rescaling
        ([1.0] * 1319, 2.0),  # a constant function
        ([0.25] * MAX_STEPS, 2.0),
    ],
)

# The rules on heights are evoforge.verify.scaled_heights' (tests/examples/test_verify_shapes.py).
test_invalid_heights_are_rejected_with_the_violated_rule = rejection_test(
    c1_bound,
    [
        ([0.0, 0.0], "^all heights are zero, so ∫f = 0$"),
        ([1.0, 1e7], "height 1 = 1e\\+07 is out of range"),
        ([1.0] * (MAX_STEPS + 1), f"has {MAX_STEPS + 1} heights, expected 1 to {MAX_STEPS}"),
    ],
)


def test_evaluate_negates_the_bound_of_the_returned_heights_alone(tmp_path: Path) -> None:
    patches = (
        "import math, numpy\nnumpy.max = lambda *a, **k: 0.0\nmath.fsum = lambda xs: 1e9\n"
        "evaluate = lambda p: {'combined_score': 0.0}\n"
    )
    prelude = cheat("c1_bound", "lambda obj: 1.0", 1.0, patches)
    honest, rule = EXAMPLE.run_cheat(tmp_path, prelude, [1.0, 2.0], [1.0, -1.0], numpy=True)
    value, best = 16 / 9, EXAMPLE.verifier.BEST_KNOWN
    expected = {"combined_score": -value, "c1_bound": value, "valid": 1.0, "target_ratio": best / value}
    assert honest == pytest.approx(expected, rel=1e-12)
    assert rule == "height 1 is negative (-1); f must be >= 0"
