"""The circle-packing verifier accepts exact feasible packings and rejects every crafted cheat."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import pytest

from evoforge.verify import RESULT_MARKER

EXAMPLE = Path(__file__).parents[2] / "examples" / "circle_packing_26"


def load_verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("circle_packing_evaluator", EXAMPLE / "evaluator.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verifier = load_verifier()


def grid_packing() -> list[list[float]]:
    """25 circles of radius 0.1 on a 5 × 5 grid, plus a zero-radius circle in a corner: sum 2.5."""
    circles = [[0.1 + 0.2 * i, 0.1 + 0.2 * j, 0.1] for i in range(5) for j in range(5)]
    return [*circles, [0.0, 0.0, 0.0]]


def test_valid_packing_scores_its_exact_sum() -> None:
    assert verifier.score_packing(grid_packing()) == math.fsum([0.1] * 25)


def with_item(index: int, value: object) -> list[object]:
    circles: list[object] = list(grid_packing())
    circles[index] = value
    return circles


@pytest.mark.parametrize(
    ("obj", "reason"),
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
def test_invalid_objects_are_rejected_with_the_violated_rule(obj: object, reason: str) -> None:
    with pytest.raises(verifier.InvalidObject, match=reason):
        verifier.score_packing(obj)


def write_candidate(tmp_path: Path, body: str) -> str:
    path = tmp_path / "candidate.py"
    path.write_text(body)
    return str(path)


def test_evaluate_runs_the_candidate_apart_and_scores_the_object(tmp_path: Path) -> None:
    path = write_candidate(tmp_path, "def solve():\n" + f"    return {grid_packing()!r}\n")
    metrics = verifier.evaluate(path)
    assert metrics["combined_score"] == pytest.approx(2.5, abs=1e-12)
    assert metrics["valid"] == 1.0


def test_infeasible_candidate_scores_minus_infinity_with_an_artifact(tmp_path: Path) -> None:
    path = write_candidate(tmp_path, "def solve():\n    return [[0.5, 0.5, 0.4]] * 26\n")
    result = verifier.evaluate(path)
    assert result.metrics["combined_score"] == float("-inf")
    assert "overlap" in result.artifacts["infeasible"]


PATCHES = (
    "import builtins, math, sys\n"
    "math.hypot = lambda *a: 1e9\n"
    "math.fsum = lambda xs: 100.0\n"
    "builtins.abs = lambda x: 0\n"
    "builtins.float = lambda x=0: 100.0\n"
    "for module in list(sys.modules.values()):\n"
    "    if hasattr(module, 'score_packing'):\n"
    "        module.score_packing = lambda obj: 100.0\n"
    "globals().update(score_packing=lambda obj: 100.0, TOL=1.0, evaluate=lambda p: {'combined_score': 9.0})\n"
)


@pytest.mark.parametrize(
    ("circles", "expected"), [([[0.5, 0.5, 0.3]] * 26, -math.inf), (grid_packing(), 2.5)]
)
def test_candidate_cannot_patch_the_verifier_or_claim_a_score(
    tmp_path: Path, circles: list[list[float]], expected: float
) -> None:
    body = PATCHES + f"def solve():\n    return {circles!r}\n"
    result = verifier.evaluate(write_candidate(tmp_path, body))
    metrics = result if isinstance(result, dict) else result.metrics
    assert metrics["combined_score"] == pytest.approx(expected, abs=1e-12)


def test_a_fake_result_printed_by_the_candidate_is_ignored(tmp_path: Path) -> None:
    fake = RESULT_MARKER + '{"result": 2.6359830849}'
    body = f"print({fake!r})\ndef solve():\n    return {grid_packing()!r}\n"
    assert verifier.evaluate(write_candidate(tmp_path, body))["combined_score"] == pytest.approx(2.5)


def test_numpy_arrays_and_tuples_are_accepted(tmp_path: Path) -> None:
    body = "import numpy as np\n" + "def solve():\n" + f"    return np.array({grid_packing()!r})\n"
    assert verifier.evaluate(write_candidate(tmp_path, body))["valid"] == 1.0
    as_tuples = tuple(tuple(c) for c in grid_packing())
    body = f"def solve():\n    return {as_tuples!r}\n"
    assert verifier.evaluate(write_candidate(tmp_path, body))["valid"] == 1.0


def test_objects_json_cannot_carry_are_infeasible(tmp_path: Path) -> None:
    body = "def solve():\n    return [[0.5, 0.5, 0.1j]] * 26\n"
    result = verifier.evaluate(write_candidate(tmp_path, body))
    assert result.metrics["combined_score"] == float("-inf")
    assert "complex is not a list or a number" in result.artifacts["infeasible"]


def test_a_crashing_candidate_fails_with_its_error_and_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "def solve():\n    print('thinking')\n    return 1 / 0\n"
    with pytest.raises(RuntimeError, match="the candidate failed: ZeroDivisionError: division by zero"):
        verifier.evaluate(write_candidate(tmp_path, body))
    forwarded = capsys.readouterr()
    assert "thinking" in forwarded.out and "return 1 / 0" in forwarded.err


def test_a_slow_candidate_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verifier, "SOLVE_TIMEOUT_S", 1)
    body = "import time\ndef solve():\n    time.sleep(30)\n"
    with pytest.raises(RuntimeError, match="did not return within 1 s"):
        verifier.evaluate(write_candidate(tmp_path, body))


def test_initial_program_is_valid_and_far_from_the_record() -> None:
    metrics = verifier.evaluate(str(EXAMPLE / "initial_program.py"))
    assert metrics["valid"] == 1.0
    assert metrics["combined_score"] < 0.9 * verifier.BEST_KNOWN
