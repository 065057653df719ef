"""The minimum overlap verifier scores step functions exactly and rejects every crafted cheat."""

from __future__ import annotations

import math
import runpy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evoforge.verify import RESULT_MARKER, InvalidObject

EXAMPLE = Path(__file__).parents[2] / "examples" / "erdos_min_overlap"
verifier = runpy.run_path(str(EXAMPLE / "evaluator.py"))
overlap = verifier["overlap"]
MAX_STEPS = verifier["MAX_STEPS"]


def evaluate(tmp_path: Path, body: str) -> Any:
    """The evaluator's answer for a candidate: a dict of metrics, or an EvaluationResult if infeasible."""
    path = tmp_path / "candidate.py"
    path.write_text(body)
    return verifier["evaluate"](str(path))


# h = [3/4, 1/4], 1 - h = [1/4, 3/4]: shifts give 3/8 (k = 0), 1/16 (k = 1) and 9/16 (k = -1); 2/n = 1.
@pytest.mark.parametrize(
    ("h", "expected"),
    [
        ([0.75, 0.25], 9 / 16),
        ([1.0, 0.0], 1.0),  # the indicator of [0, 1]: shifting by 1 overlaps it completely
        ([0.5] * 1000, 0.5),  # constant 1/2: Σ_i h_i (1 - h_i) = n/4 at k = 0
        ([0.5 + 1e-10, 0.5], 0.5),  # the sum is within the 1e-9 tolerance of n/2
    ],
)
def test_valid_functions_score_their_exact_overlap(h: list[float], expected: float) -> None:
    assert overlap(h) == pytest.approx(expected, rel=1e-12)


def test_the_overlap_is_the_maximum_over_every_shift() -> None:
    h = np.random.default_rng(1).uniform(0.25, 0.75, 9)
    h = (h - h.mean() + 0.5).tolist()
    brute = max(sum(h[i + k] * (1 - h[i]) for i in range(9) if 0 <= i + k < 9) for k in range(-8, 9))
    assert overlap(h) == pytest.approx(2 / 9 * brute, rel=1e-12)


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([1.5, -0.5], r"h\[0\] = 1.5 is outside \[0, 1\]"),
        ([0.5, -0.0001, 0.5001, 0.5], r"h\[1\] = -0.0001 is outside \[0, 1\]"),
        ([0.5, 0.5 - 1e-8], "the values sum to 0.99999999.*, expected n/2 = 1"),
        ([0.5, math.nan], "h\\[1\\] is nan, expected a finite number"),
        ([True, False], "h\\[0\\] is bool"),
        ([0.5, "0.5"], "h\\[1\\] is str"),
        ([[0.5, 0.5]], "h\\[0\\] is list"),
        ([], "has 0 values, expected 1 to"),
        ([0.5] * (MAX_STEPS + 1), f"has {MAX_STEPS + 1} values"),
        (0.380924, "is float, expected a list"),
    ],
)
def test_invalid_functions_are_rejected_with_the_violated_rule(obj: object, reason: str) -> None:
    with pytest.raises(InvalidObject, match=reason):
        overlap(obj)


def test_evaluate_negates_the_overlap(tmp_path: Path) -> None:
    metrics = evaluate(tmp_path, "import numpy\ndef solve():\n    return numpy.array([0.75, 0.25])\n")
    assert metrics["combined_score"] == pytest.approx(-9 / 16, rel=1e-12)
    assert metrics["overlap"] == pytest.approx(9 / 16, rel=1e-12) and metrics["valid"] == 1.0
    result = verifier["evaluate"](str(EXAMPLE / "initial_program.py"))
    assert result["valid"] == 1.0 and result["overlap"] > 1.1 * verifier["BEST_KNOWN"]


def test_a_candidate_cannot_patch_the_scoring_or_print_a_fake_result(tmp_path: Path) -> None:
    fake = RESULT_MARKER + '{"result": 0.3}'
    cheat = (
        "import math, sys, numpy\n"
        "numpy.max = lambda *a, **k: 0.0\n"
        "math.fsum = lambda xs: len(xs) / 2\n"
        "for module in list(sys.modules.values()):\n"
        "    if hasattr(module, 'overlap'):\n"
        "        module.overlap = lambda obj: 0.3\n"
        "globals().update(overlap=lambda obj: 0.3, SUM_TOL=1e9)\n"
        f"print({fake!r})\n"
    )
    honest = evaluate(tmp_path, cheat + "def solve():\n    return [0.75, 0.25]\n")
    assert honest["overlap"] == pytest.approx(9 / 16, rel=1e-12)
    short = evaluate(tmp_path, cheat + "def solve():\n    return [0.25, 0.25]\n")
    assert short.metrics["combined_score"] == -math.inf
    assert short.artifacts["infeasible"].startswith("the values sum to 0.5, expected n/2 = 1")
