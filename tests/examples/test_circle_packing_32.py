"""The 32-circle packing verifier accepts exact feasible packings and rejects every crafted cheat."""

from __future__ import annotations

import math
import runpy
from pathlib import Path
from typing import Any

import pytest

from evoforge.verify import RESULT_MARKER, InvalidObject

EXAMPLE = Path(__file__).parents[2] / "examples" / "circle_packing_32"
verifier = runpy.run_path(str(EXAMPLE / "evaluator.py"))
score_packing = verifier["score_packing"]


def grid_packing() -> list[list[float]]:
    """32 of the 36 circles of radius 1/12 on a 6 × 6 grid, each touching its neighbours: sum 32/12."""
    return [[(2 * i + 1) / 12, (2 * j + 1) / 12, 1 / 12] for i in range(6) for j in range(6)][:32]


def with_item(index: int, value: object) -> list[object]:
    circles: list[object] = list(grid_packing())
    circles[index] = value
    return circles


def evaluate(tmp_path: Path, body: str) -> Any:
    """The evaluator's answer for a candidate: a dict of metrics, or an EvaluationResult if infeasible."""
    path = tmp_path / "candidate.py"
    path.write_text(body)
    return verifier["evaluate"](str(path))


def test_touching_circles_are_feasible_and_score_their_exact_sum() -> None:
    assert score_packing(grid_packing()) == math.fsum([1 / 12] * 32)
    assert score_packing(with_item(31, [0.0, 1.0, 0.0])) == math.fsum([1 / 12] * 31)


@pytest.mark.parametrize(
    ("obj", "reason"),
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
def test_invalid_packings_are_rejected_with_the_violated_rule(obj: object, reason: str) -> None:
    with pytest.raises(InvalidObject, match=reason):
        score_packing(obj)


def test_evaluate_scores_the_returned_circles(tmp_path: Path) -> None:
    metrics = evaluate(tmp_path, f"import numpy\ndef solve():\n    return numpy.array({grid_packing()!r})\n")
    assert metrics["combined_score"] == pytest.approx(32 / 12, abs=1e-12) and metrics["valid"] == 1.0
    result = verifier["evaluate"](str(EXAMPLE / "initial_program.py"))
    assert result["valid"] == 1.0 and result["combined_score"] < 0.9 * verifier["BEST_KNOWN"]


def test_a_candidate_cannot_patch_the_scoring_or_print_a_fake_result(tmp_path: Path) -> None:
    fake = RESULT_MARKER + '{"result": 3.0}'
    cheat = (
        "import math, sys\n"
        "math.hypot = lambda *a: 1e9\n"
        "math.fsum = lambda xs: 100.0\n"
        "for module in list(sys.modules.values()):\n"
        "    if hasattr(module, 'score_packing'):\n"
        "        module.score_packing = lambda obj: 100.0\n"
        "globals().update(score_packing=lambda obj: 100.0, TOL=1.0)\n"
        f"print({fake!r})\n"
    )
    assert evaluate(tmp_path, cheat + f"def solve():\n    return {grid_packing()!r}\n")["combined_score"] == (
        pytest.approx(32 / 12, abs=1e-12)
    )
    overlapping = evaluate(tmp_path, cheat + "def solve():\n    return [[0.5, 0.5, 0.3]] * 32\n")
    assert overlapping.metrics["combined_score"] == -math.inf
    assert overlapping.artifacts["infeasible"] == "circles 0 and 1 overlap by 0.6"
