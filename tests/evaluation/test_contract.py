"""The evaluator contract: what counts as metrics and which metric is the score."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from evoforge.evaluation.contract import (
    ContractError,
    bound_record,
    cut_text,
    normalize_result,
    primary_score,
)
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
    many = {f"m{i}": 1.0 for i in range(200_000)}
    with pytest.raises(
        ContractError, match=re.escape("the metrics ['m0', 'm1', 'm2', 'm3', 'm4', ...]") + "$"
    ):
        primary_score(many, "missing")  # five names, not 200,000


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


LIMITS = {"max_metrics": 256, "max_artifact_bytes": 4096, "max_total_artifact_bytes": 8192}


def test_metrics_are_cut_in_the_evaluators_order_and_the_score_metric_is_kept() -> None:
    metrics = {f"m{i}": float(i) for i in range(200_000)} | {"combined_score": 7.0}
    kept, artifacts = bound_record(metrics, {}, LIMITS)
    assert len(kept) == 256 and kept["combined_score"] == 7.0
    assert list(kept)[:255] == [f"m{i}" for i in range(255)]
    assert artifacts["truncated"] == (
        "metrics: kept 256 of 200,001: the first 255 in the evaluator's order and 'combined_score'"
    )
    kept, _ = bound_record(metrics, {}, LIMITS, score_metric="m199999")
    assert kept["combined_score"] == 7.0 and "m199999" not in kept  # combined_score is the score
    kept, _ = bound_record({f"m{i}": float(i) for i in range(1000)}, {}, LIMITS, score_metric="m999")
    assert len(kept) == 256 and kept["m999"] == 999.0 and primary_score(kept, "m999") == 999.0


def test_a_score_that_is_the_mean_is_kept_as_combined_score_computed_before_the_cut() -> None:
    metrics = {f"m{i}": float(i) for i in range(1000)} | {"valid": True}
    kept, artifacts = bound_record(metrics, {}, LIMITS)
    assert primary_score(kept, None) == primary_score(metrics, None) == 499.5
    assert len(kept) == 256 and kept["combined_score"] == 499.5 and "valid" not in kept
    assert "'combined_score' is the mean of all 1,001, the score" in artifacts["truncated"]


def test_records_within_the_limits_are_left_alone() -> None:
    metrics, artifacts = {"a": 1.0, "ok": True}, {"log": "é" * 2048, "n": "3"}
    assert bound_record(metrics, artifacts, LIMITS) == (metrics, artifacts)


def test_a_huge_artifact_keeps_its_head_and_tail_and_says_so() -> None:
    log = "start\n" + "x" * 1_000_000 + "\nthe end"
    _, artifacts = bound_record({}, {"log": log, "hint": "small"}, LIMITS)
    assert len(artifacts["log"].encode()) <= LIMITS["max_artifact_bytes"]
    head, tail = artifacts["log"].split("\n[truncated ", 1)
    assert head.startswith("start\nxxx") and tail.endswith("xxx\nthe end")
    assert artifacts["hint"] == "small"
    assert (
        artifacts["truncated"] == "artifact 'log': kept the first 2,024 and the last 2,024 of 1,000,014 bytes"
    )


def test_artifacts_past_the_total_are_dropped_and_named() -> None:
    artifacts = {f"case{i}": "y" * 3000 for i in range(10)} | {"truncated": "from the child"}
    _, kept = bound_record({}, artifacts, LIMITS)
    assert list(kept) == ["case0", "case1", "case2", "truncated"]
    assert sum(len(name) + len(text) for name, text in kept.items() if name != "truncated") <= 8192
    note = kept["truncated"].splitlines()
    assert note[0] == "from the child"  # what the child cut stays listed first
    assert note[1].startswith("artifact 'case2': kept the first ")
    assert note[2] == (
        "artifacts: dropped 7 past the total of 8,192 bytes: 'case3', 'case4', 'case5', 'case6', 'case7'"
        " and 2 more"
    )


def test_cut_text_counts_utf8_bytes_and_never_raises_on_lone_surrogates() -> None:
    text = "é" * 10_000 + "\udc80"
    cut = cut_text(text, 1024)
    assert len(cut.encode("utf-8", "surrogatepass")) <= 1024 and "[truncated 19,027 bytes]" in cut
    assert cut_text("short", 1024) == "short"


class Hostile:
    """A value whose every conversion raises, as a buggy metric or artifact object might."""

    def __float__(self) -> float:
        raise RuntimeError("no float today")

    def __str__(self) -> str:
        raise RuntimeError("no str today")

    def __repr__(self) -> str:
        raise RuntimeError("no repr today")


class Unreadable(dict[str, float]):
    def items(self):  # type: ignore[no-untyped-def,override]
        raise OSError("disk gone")


class RaisingProperties:
    @property
    def metrics(self) -> dict[str, float]:
        raise LookupError("metrics not ready")


@pytest.mark.parametrize(
    ("raw", "message", "cause"),
    [
        ({"x": Hostile()}, "metric 'x' raised RuntimeError: no float today", RuntimeError),
        (
            EvaluationResult({}, {"log": Hostile()}),
            "artifact 'log' raised RuntimeError: no str today",
            RuntimeError,
        ),
        (
            RaisingProperties(),
            "reading the result's metrics raised LookupError: metrics not ready",
            LookupError,
        ),
        (Unreadable(x=1.0), "reading the metrics raised OSError: disk gone", OSError),
        (EvaluationResult(Unreadable(x=1.0)), "reading the metrics raised OSError: disk gone", OSError),
        ({"x": np.array([1.0, 2.0])}, "metric 'x' raised TypeError: only ", TypeError),
    ],
)
def test_what_the_evaluators_objects_raise_names_them_and_keeps_the_cause(
    raw: object, message: str, cause: type[BaseException]
) -> None:
    with pytest.raises(ContractError, match=re.escape(message)) as raised:
        normalize_result(raw)
    assert isinstance(raised.value.__cause__, cause)


def test_a_value_whose_repr_raises_is_still_described() -> None:
    class Opaque:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    with pytest.raises(ContractError, match=re.escape("metric 'x' is not a number: <Opaque>")):
        normalize_result({"x": Opaque()})
    with pytest.raises(ContractError, match="metric name longer than 256 characters"):
        normalize_result({"n" * 257: 1.0})
