"""The evaluator contract: what counts as metrics and which metric is the score."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from evoforge.evaluation.contract import ContractError, normalize_result, primary_score
from evoforge.records import EvaluationResult


def test_numbers_of_any_kind_become_floats_and_bools_stay_flags() -> None:
    metrics, artifacts = normalize_result({"a": 1, "b": np.float32(0.5), "c": np.int64(3), "valid": True})
    assert metrics == {"a": 1.0, "b": 0.5, "c": 3.0, "valid": True}
    assert [type(value) for value in metrics.values()] == [float, float, float, bool]
    assert artifacts == {}
    assert primary_score(metrics, None) == 1.5  # the mean of a, b and c: the flag is not a measurement


def test_result_objects_by_duck_typing() -> None:
    @dataclass
    class OtherResult:
        metrics: dict[str, float]
        artifacts: dict[str, object] = field(default_factory=dict)

    for result in (EvaluationResult({"x": 2}, {"log": "ok"}), OtherResult({"x": 2}, {"log": "ok"})):
        assert normalize_result(result) == ({"x": 2.0}, {"log": "ok"})
    assert normalize_result(SimpleNamespace(metrics={"x": 1})) == ({"x": 1.0}, {})
    assert normalize_result(SimpleNamespace(metrics={}, artifacts=None)) == ({}, {})


def test_artifacts_become_text() -> None:
    _, artifacts = normalize_result(
        EvaluationResult({}, {"n": 3, "error": ValueError("too big"), 7: "seven"})
    )
    assert artifacts == {"n": "3", "error": "too big", "7": "seven"}


def test_score_is_combined_score_then_score_metric_then_the_mean() -> None:
    assert primary_score({"combined_score": 3.0, "speed": 10.0}, "speed") == 3.0
    assert primary_score({"speed": 10.0, "size": 2.0}, "speed") == 10.0
    assert primary_score({"speed": 10.0, "size": 2.0}, None) == 6.0
    assert primary_score({}, None) == -math.inf
    assert primary_score({"valid": True}, None) == -math.inf
    with pytest.raises(ContractError, match=r"score_metric 'missing' is not among the metrics \['speed'\]"):
        primary_score({"speed": 1.0}, "missing")


def test_minus_infinity_is_allowed_and_means_infeasible() -> None:
    metrics, _ = normalize_result({"combined_score": float("-inf"), "size": 2})
    assert primary_score(metrics, None) == -math.inf
    assert primary_score(normalize_result({"a": -math.inf, "b": 1.0})[0], None) == -math.inf


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (3, "evaluate() returned int, expected a dict of metrics or an EvaluationResult"),
        (None, "evaluate() returned NoneType"),
        ({"x": float("nan")}, "metric 'x' is NaN"),
        ({"x": np.float64("nan")}, "metric 'x' is NaN"),
        ({"x": float("inf")}, "metric 'x' is +inf"),
        ({"x": "abc"}, "metric 'x' is not a number: 'abc'"),
        ({"x": "1.5"}, "metric 'x' is not a number: '1.5'"),
        ({"x": None}, "metric 'x' is not a number: None"),
        ({"x": [1, 2]}, "metric 'x' is not a number: [1, 2]"),
        ({"x": 1j}, "metric 'x' is not a number"),
        ({1: 2.0}, "metric names must be strings, got 1"),
        (EvaluationResult(metrics=[1.0]), "metrics must be a dict, got list"),  # type: ignore[arg-type]
        (EvaluationResult({}, artifacts="log"), "artifacts must be a dict, got str"),  # type: ignore[arg-type]
    ],
)
def test_invalid_results_are_contract_errors(raw: object, message: str) -> None:
    with pytest.raises(ContractError, match=re.escape(message)):
        normalize_result(raw)
