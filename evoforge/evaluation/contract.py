"""The evaluator contract, shared by the sandbox child and the controller.

``evaluate(program_path)`` returns a dict of metrics or an object with ``metrics`` and optional
``artifacts`` attributes (duck typing: evoforge's and OpenEvolve's EvaluationResult both work).
Metrics are real numbers: ints, floats and numpy scalars are accepted; bools become 0/1 but never
count in the mean; NaN and non-numbers are errors; ``-inf`` is allowed and means infeasible.

This module imports only the standard library: the sandbox child loads it by path.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any


class ContractError(Exception):
    """The evaluator returned something that is not metrics (the message says what)."""


def normalize_result(raw: object) -> tuple[dict[str, float], dict[str, str], set[str]]:
    """(metrics, artifacts, names of boolean metrics) from what ``evaluate`` returned."""
    if isinstance(raw, dict):
        metrics_raw: Any = raw
        artifacts_raw: Any = {}
    elif hasattr(raw, "metrics"):
        metrics_raw = raw.metrics
        artifacts_raw = getattr(raw, "artifacts", None) or {}
    else:
        raise ContractError(
            f"evaluate() returned {type(raw).__name__}, expected a dict of metrics or an EvaluationResult"
        )
    if not isinstance(metrics_raw, dict):
        raise ContractError(f"metrics must be a dict, got {type(metrics_raw).__name__}")
    if not isinstance(artifacts_raw, dict):
        raise ContractError(f"artifacts must be a dict, got {type(artifacts_raw).__name__}")
    metrics: dict[str, float] = {}
    flags: set[str] = set()
    for name, value in metrics_raw.items():
        if not isinstance(name, str):
            raise ContractError(f"metric names must be strings, got {name!r}")
        if isinstance(value, bool):
            flags.add(name)
        metrics[name] = _number(name, value)
    artifacts = {
        str(name): value if isinstance(value, str) else repr(value) for name, value in artifacts_raw.items()
    }
    return metrics, artifacts, flags


def _number(name: str, value: object) -> float:
    if isinstance(value, str | bytes) or value is None:
        raise ContractError(f"metric '{name}' is not a number: {value!r:.60}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ContractError(f"metric '{name}' is not a number: {value!r:.60}") from None
    if math.isnan(number):
        raise ContractError(f"metric '{name}' is NaN")
    if number == math.inf:
        raise ContractError(f"metric '{name}' is +inf")
    return number


def primary_score(metrics: dict[str, float], score_metric: str | None, flags: Collection[str] = ()) -> float:
    """``combined_score``, else the configured ``score_metric``, else the mean of the numeric metrics."""
    if "combined_score" in metrics:
        return metrics["combined_score"]
    if score_metric is not None:
        if score_metric not in metrics:
            raise ContractError(f"score_metric '{score_metric}' is not among the metrics {sorted(metrics)}")
        return metrics[score_metric]
    values = [value for name, value in metrics.items() if name not in flags]
    return sum(values) / len(values) if values else -math.inf
