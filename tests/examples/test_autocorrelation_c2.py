"""The C2 autocorrelation verifier scores step functions exactly and rejects every crafted cheat."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.verify import MAX_STEPS, InvalidObject
from tests.examples.helpers import Example, cheat, scoring_test

EXAMPLE = Example("autocorrelation_c2")
c2_bound = EXAMPLE.verifier.c2_bound


# a = [1, 2]: a∗a = [1, 4, 4], y = [0, 1, 4, 4, 0], h = 1/4; L2² = h/3 (1 + 21 + 48 + 16) = 43/6,
# L1 = 9/4, L∞ = 4, so the ratio is (43/6) / 9 = 43/54. A constant f makes f∗f a tent: exactly 2/3.
test_valid_heights_score_their_exact_ratio = scoring_test(
    c2_bound,
    [
        ([1.0, 2.0], 43 / 54),
        ([2e-320, 4e-320], 43 / 54),  # denormal heights: L1·L∞ would underflow to 0 without rescaling
        ([5], 2 / 3),
        ([1.0] * 777, 2 / 3),
        ([0.5] * MAX_STEPS, 2 / 3),
    ],
)


def test_heights_follow_the_shared_rules_with_the_c2_wording() -> None:
    with pytest.raises(InvalidObject, match=r"^all heights are zero, so f∗f = 0$"):
        c2_bound([0, 0, 0])
    with pytest.raises(InvalidObject, match=f"has {MAX_STEPS + 1} heights"):
        c2_bound([1.0] * (MAX_STEPS + 1))


def test_evaluate_scores_the_returned_heights_alone(tmp_path: Path) -> None:
    patches = (
        "import numpy\nnumpy.max = lambda *a, **k: 1e-9\nnumpy.fft.irfft = lambda *a, **k: numpy.ones(8)\n"
        "evaluate = lambda p: {'combined_score': 1.0}\n"
    )
    prelude = cheat("c2_bound", "lambda obj: 1.0", 1.0, patches)
    honest, rule = EXAMPLE.run_cheat(tmp_path, prelude, [1.0, 2.0], [0.0] * 10, numpy=True)
    value, best = 43 / 54, EXAMPLE.verifier.BEST_KNOWN
    expected = {"combined_score": value, "c2_bound": value, "valid": 1.0, "target_ratio": value / best}
    assert honest == pytest.approx(expected, rel=1e-12)
    assert rule == "all heights are zero, so f∗f = 0"
