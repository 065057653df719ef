"""The C2 autocorrelation verifier scores step functions exactly and rejects every crafted cheat."""

from __future__ import annotations

import math
import runpy
from pathlib import Path
from typing import Any

import pytest

from evoforge.verify import RESULT_MARKER, InvalidObject

EXAMPLE = Path(__file__).parents[2] / "examples" / "autocorrelation_c2"
verifier = runpy.run_path(str(EXAMPLE / "evaluator.py"))
c2_bound = verifier["c2_bound"]
MAX_STEPS = verifier["MAX_STEPS"]


def evaluate(tmp_path: Path, body: str) -> Any:
    """The evaluator's answer for a candidate: a dict of metrics, or an EvaluationResult if infeasible."""
    path = tmp_path / "candidate.py"
    path.write_text(body)
    return verifier["evaluate"](str(path))


# a = [1, 2]: a∗a = [1, 4, 4], y = [0, 1, 4, 4, 0], h = 1/4; L2² = h/3 (1 + 21 + 48 + 16) = 43/6,
# L1 = 9/4, L∞ = 4, so the ratio is (43/6) / 9 = 43/54. A constant f makes f∗f a tent: exactly 2/3.
@pytest.mark.parametrize(
    ("heights", "expected"),
    [
        ([1.0, 2.0], 43 / 54),
        ([2e-320, 4e-320], 43 / 54),  # denormal heights: L1·L∞ would underflow to 0 without rescaling
        ([5], 2 / 3),
        ([1.0] * 777, 2 / 3),
        ([0.5] * MAX_STEPS, 2 / 3),
    ],
)
def test_valid_heights_score_their_exact_ratio(heights: list[float], expected: float) -> None:
    assert c2_bound(heights) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([1.0, -0.5, 1.0], "height 1 is negative"),
        ([0, 0, 0], "all heights are zero"),
        ([1.0, math.nan], "height 1 is nan, expected a finite number"),
        ([1.0, -math.inf], "height 1 is -inf"),
        ([False, 1.0], "height 0 is bool"),
        ([1.0, 1j], "height 1 is complex"),
        ([[1.0], [2.0]], "height 0 is list"),
        ([], "has 0 heights, expected 1 to"),
        ([1.0] * (MAX_STEPS + 1), f"has {MAX_STEPS + 1} heights"),
        (0.9610210778, "is float, expected a list"),
    ],
)
def test_invalid_heights_are_rejected_with_the_violated_rule(obj: object, reason: str) -> None:
    with pytest.raises(InvalidObject, match=reason):
        c2_bound(obj)


def test_evaluate_scores_the_returned_heights(tmp_path: Path) -> None:
    metrics = evaluate(tmp_path, "import numpy\ndef solve():\n    return numpy.array([1.0, 2.0])\n")
    assert metrics["combined_score"] == pytest.approx(43 / 54, rel=1e-12) and metrics["valid"] == 1.0
    result = verifier["evaluate"](str(EXAMPLE / "initial_program.py"))
    assert result["valid"] == 1.0 and result["c2_bound"] < 0.9 * verifier["BEST_KNOWN"]


def test_a_candidate_cannot_patch_the_scoring_or_print_a_fake_result(tmp_path: Path) -> None:
    fake = RESULT_MARKER + '{"result": 1.0}'
    cheat = (
        "import sys, numpy\n"
        "numpy.max = lambda *a, **k: 1e-9\n"
        "numpy.fft.irfft = lambda *a, **k: numpy.ones(8)\n"
        "for module in list(sys.modules.values()):\n"
        "    if hasattr(module, 'c2_bound'):\n"
        "        module.c2_bound = lambda obj: 1.0\n"
        "globals().update(c2_bound=lambda obj: 1.0, evaluate=lambda p: {'combined_score': 1.0})\n"
        f"print({fake!r})\n"
    )
    honest = evaluate(tmp_path, cheat + "def solve():\n    return [1.0, 2.0]\n")
    assert honest["combined_score"] == pytest.approx(43 / 54, rel=1e-12)
    zero = evaluate(tmp_path, cheat + "def solve():\n    return [0.0] * 10\n")
    assert zero.metrics["combined_score"] == -math.inf
    assert zero.artifacts["infeasible"] == "all heights are zero, so f∗f = 0"
