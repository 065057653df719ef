"""The evaluator contract: what counts as metrics and which metric is the score."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from evoforge.evaluation.contract import ContractError, normalize_result, primary_score
from evoforge.records import EvaluationResult


def test_dict_of_numbers_including_numpy_and_bools() -> None:
    metrics, artifacts, flags = normalize_result({"a": 1, "b": np.float32(0.5), "valid": True})
    assert metrics == {"a": 1.0, "b": 0.5, "valid": 1.0}
    assert artifacts == {}
    assert flags == {"valid"}
    assert primary_score(metrics, None, flags) == 0.75


def test_evaluation_result_objects_by_duck_typing() -> None:
    @dataclass
    class OtherResult:
        metrics: dict[str, float]
        artifacts: dict[str, object] = field(default_factory=dict)

    for result in (EvaluationResult({"x": 2.0}, {"log": "ok"}), OtherResult({"x": 2.0}, {"log": "ok"})):
        metrics, artifacts, _ = normalize_result(result)
        assert metrics == {"x": 2.0} and artifacts == {"log": "ok"}


def test_score_precedence() -> None:
    metrics = {"combined_score": 3.0, "speed": 10.0}
    assert primary_score(metrics, "speed") == 3.0
    assert primary_score({"speed": 10.0, "size": 2.0}, "speed") == 10.0
    assert primary_score({"speed": 10.0, "size": 2.0}, None) == 6.0
    assert primary_score({}, None) == -math.inf
    with pytest.raises(ContractError, match="score_metric 'missing'"):
        primary_score({"speed": 1.0}, "missing")


def test_minus_infinity_means_infeasible() -> None:
    metrics, _, _ = normalize_result({"combined_score": float("-inf")})
    assert primary_score(metrics, None) == -math.inf


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (3, "returned int, expected a dict"),
        ({"a": float("nan")}, "metric 'a' is NaN"),
        ({"a": float("inf")}, r"metric 'a' is \+inf"),
        ({"a": "high"}, "metric 'a' is not a number"),
        ({"a": None}, "metric 'a' is not a number"),
        ({"a": [1, 2]}, "metric 'a' is not a number"),
        ({1: 2.0}, "metric names must be strings"),
        (EvaluationResult(metrics=[1.0]), "metrics must be a dict"),  # type: ignore[arg-type]
    ],
)
def test_invalid_results(raw: object, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        normalize_result(raw)
