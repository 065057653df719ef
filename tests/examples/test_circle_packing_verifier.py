"""The circle-packing verifier accepts exact feasible packings and rejects every crafted cheat."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from evoforge.verify import RESULT_MARKER
from tests.examples.helpers import Example, broken_rule, cheat, rejection_test, replaced, returning

EXAMPLE = Example("circle_packing_26")
verifier = EXAMPLE.verifier


def grid_packing() -> list[list[float]]:
    """25 circles of radius 0.1 on a 5 × 5 grid, plus a zero-radius circle in a corner: sum 2.5."""
    circles = [[0.1 + 0.2 * i, 0.1 + 0.2 * j, 0.1] for i in range(5) for j in range(5)]
    return [*circles, [0.0, 0.0, 0.0]]


def test_valid_packing_scores_its_exact_sum() -> None:
    assert verifier.score_packing(grid_packing()) == math.fsum([0.1] * 25)


def with_item(index: int, value: object) -> list[object]:
    return replaced(grid_packing(), index, value)


test_invalid_objects_are_rejected_with_the_violated_rule = rejection_test(
    verifier.score_packing,
    [
        (with_item(3, [0.1, 0.69, 0.1]), "circles 2 and 3 overlap by 0.01"),
        (with_item(0, [0.05, 0.1, 0.1]), "leaves the unit square"),
        (with_item(25, [1.0, 1.0, 0.01]), "leaves the unit square"),
        (with_item(25, [0.0, 0.0, -0.5]), "negative radius"),
        (with_item(2, [float("nan"), 0.5, 0.1]), "expected a finite number"),
        (with_item(2, [0.5, float("inf"), 0.1]), "expected a finite number"),
        (with_item(2, [0.5, 0.5, True]), "is bool"),
        (with_item(2, ["0.5", 0.5, 0.1]), "is str"),
        (with_item(2, [0.5, 0.5]), "has 2 items, expected 3"),
        (with_item(2, [0.5, 0.5, 0.1, 0.0]), "has 4 items, expected 3"),
        (with_item(2, [0.5, 0.5, 10**400]), "out of range"),
        (grid_packing()[:25], "has 25 items, expected 26"),
        (2.6359830849, "is float, expected a list"),
        ({"circles": grid_packing()}, "is dict, expected a list"),
    ],
)


def test_evaluate_runs_the_candidate_apart_and_scores_the_object(tmp_path: Path) -> None:
    metrics = EXAMPLE.run(tmp_path, returning(grid_packing()))
    assert metrics["combined_score"] == pytest.approx(2.5, abs=1e-12)
    assert metrics["valid"] == 1.0


def test_infeasible_candidate_scores_minus_infinity_with_an_artifact(tmp_path: Path) -> None:
    result = EXAMPLE.run(tmp_path, returning([[0.5, 0.5, 0.4]] * 26))
    assert "overlap" in broken_rule(result)


PATCHES = cheat(
    "score_packing",
    "lambda obj: 100.0",
    2.6359830849,
    "import builtins, math\nmath.hypot = lambda *a: 1e9\nmath.fsum = lambda xs: 100.0\n"
    "builtins.abs = lambda x: 0\nbuiltins.float = lambda x=0: 100.0\n"
    "TOL = 1.0\nevaluate = lambda p: {'combined_score': 9.0}\n",
)


@pytest.mark.parametrize(
    ("circles", "expected"), [([[0.5, 0.5, 0.3]] * 26, -math.inf), (grid_packing(), 2.5)]
)
def test_candidate_cannot_patch_the_verifier_or_claim_a_score(
    tmp_path: Path, circles: list[list[float]], expected: float
) -> None:
    result = EXAMPLE.run(tmp_path, PATCHES + returning(circles))
    metrics = result if isinstance(result, dict) else result.metrics
    assert metrics["combined_score"] == pytest.approx(expected, abs=1e-12)


def test_a_fake_result_printed_by_the_candidate_is_ignored(tmp_path: Path) -> None:
    fake = RESULT_MARKER + '{"result": 2.6359830849}'
    body = f"print({fake!r})\n" + returning(grid_packing())
    assert EXAMPLE.run(tmp_path, body)["combined_score"] == pytest.approx(2.5)


def test_numpy_arrays_and_tuples_are_accepted(tmp_path: Path) -> None:
    assert EXAMPLE.run(tmp_path, returning(grid_packing(), numpy=True))["valid"] == 1.0
    as_tuples = tuple(tuple(c) for c in grid_packing())
    assert EXAMPLE.run(tmp_path, returning(as_tuples))["valid"] == 1.0


def test_objects_json_cannot_carry_are_infeasible(tmp_path: Path) -> None:
    result = EXAMPLE.run(tmp_path, "def solve():\n    return [[0.5, 0.5, 0.1j]] * 26\n")
    assert "complex is not a list or a number" in broken_rule(result)


def test_a_crashing_candidate_fails_with_its_error_and_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "def solve():\n    print('thinking')\n    return 1 / 0\n"
    with pytest.raises(RuntimeError, match="the candidate failed: ZeroDivisionError: division by zero"):
        EXAMPLE.run(tmp_path, body)
    forwarded = capsys.readouterr()
    assert "thinking" in forwarded.out and "return 1 / 0" in forwarded.err


def test_a_slow_candidate_is_stopped(tmp_path: Path) -> None:
    (tmp_path / "candidate.py").write_text("import time\ndef solve():\n    time.sleep(30)\n")
    impatient = dataclasses.replace(verifier.PACKING, timeout_s=1)
    with pytest.raises(RuntimeError, match="did not return within 1 s"):
        impatient.evaluate(str(tmp_path / "candidate.py"))
