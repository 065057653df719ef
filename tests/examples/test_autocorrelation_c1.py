"""The C1 autocorrelation verifier scores step functions exactly and rejects every crafted cheat."""

from __future__ import annotations

import math
import runpy
from pathlib import Path
from typing import Any

import pytest

from evoforge.verify import RESULT_MARKER, InvalidObject

EXAMPLE = Path(__file__).parents[2] / "examples" / "autocorrelation_c1"
verifier = runpy.run_path(str(EXAMPLE / "evaluator.py"))
c1_bound = verifier["c1_bound"]
MAX_STEPS = verifier["MAX_STEPS"]


def evaluate(tmp_path: Path, body: str) -> Any:
    """The evaluator's answer for a candidate: a dict of metrics, or an EvaluationResult if infeasible."""
    path = tmp_path / "candidate.py"
    path.write_text(body)
    return verifier["evaluate"](str(path))


@pytest.mark.parametrize(
    ("heights", "expected"),
    [
        ([1.0, 2.0], 16 / 9),  # a∗a = [1, 4, 4]: 2·2·4 / 3²
        ([1, 0, 0, 1], 4.0),  # a∗a = [1, 0, 0, 2, 0, 0, 1]: 2·4·2 / 2²
        ([3e-320, 6e-320], 16 / 9),  # denormal heights: (Σa)² would underflow to 0 without rescaling
        ([1.0] * 1319, 2.0),  # a constant function
        ([0.25] * MAX_STEPS, 2.0),
    ],
)
def test_valid_heights_score_their_exact_bound(heights: list[float], expected: float) -> None:
    assert c1_bound(heights) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([1.0, -0.5, 1.0], "height 1 is negative"),
        ([0.0, 0.0], "all heights are zero"),
        ([1.0, math.nan], "height 1 is nan, expected a finite number"),
        ([math.inf, 1.0], "height 0 is inf"),
        ([1.0, True], "height 1 is bool"),
        ([1.0, "2"], "height 1 is str"),
        ([[1.0, 2.0]], "height 0 is list"),
        ([1.0, 1e7], "out of range"),
        ([], "has 0 heights, expected 1 to"),
        ([1.0] * (MAX_STEPS + 1), f"has {MAX_STEPS + 1} heights"),
        (1.5031635547, "is float, expected a list"),
    ],
)
def test_invalid_heights_are_rejected_with_the_violated_rule(obj: object, reason: str) -> None:
    with pytest.raises(InvalidObject, match=reason):
        c1_bound(obj)


def test_evaluate_negates_the_bound(tmp_path: Path) -> None:
    metrics = evaluate(tmp_path, "import numpy\ndef solve():\n    return numpy.array([1.0, 2.0])\n")
    assert metrics["combined_score"] == pytest.approx(-16 / 9, rel=1e-12)
    assert metrics["c1_bound"] == pytest.approx(16 / 9, rel=1e-12) and metrics["valid"] == 1.0
    result = verifier["evaluate"](str(EXAMPLE / "initial_program.py"))
    assert result["valid"] == 1.0 and result["c1_bound"] > 1.1 * verifier["BEST_KNOWN"]


def test_a_candidate_cannot_patch_the_scoring_or_print_a_fake_result(tmp_path: Path) -> None:
    fake = RESULT_MARKER + '{"result": 1.0}'
    cheat = (
        "import math, sys, numpy\n"
        "numpy.max = lambda *a, **k: 0.0\n"
        "math.fsum = lambda xs: 1e9\n"
        "for module in list(sys.modules.values()):\n"
        "    if hasattr(module, 'c1_bound'):\n"
        "        module.c1_bound = lambda obj: 1.0\n"
        "globals().update(c1_bound=lambda obj: 1.0, evaluate=lambda p: {'combined_score': 0.0})\n"
        f"print({fake!r})\n"
    )
    honest = evaluate(tmp_path, cheat + "def solve():\n    return [1.0, 2.0]\n")
    assert honest["c1_bound"] == pytest.approx(16 / 9, rel=1e-12)
    negative = evaluate(tmp_path, cheat + "def solve():\n    return [1.0, -1.0]\n")
    assert negative.metrics["combined_score"] == -math.inf
    assert negative.artifacts["infeasible"] == "height 1 is negative (-1); f must be >= 0"
