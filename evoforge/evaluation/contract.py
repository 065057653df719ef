"""The evaluator contract, shared by the sandbox child and the controller.

``evaluate(program_path)`` returns a dict of metrics or any object with a ``metrics`` dict and an
optional ``artifacts`` dict (duck typing: evoforge's and OpenEvolve's EvaluationResult both work).

- Metric names are strings; values are real numbers (int, float, numpy scalars, anything
  ``float()`` accepts except strings). NaN, +inf and non-numbers are errors.
- ``-inf`` is allowed and means infeasible: a program scoring ``-inf`` is kept but never a parent.
- Bools are metrics too (0/1) but they are flags, not measurements: ``normalize_metrics`` keeps
  them as ``bool`` so that ``primary_score`` can leave them out of the mean (``True == 1.0``, so
  they compare and add as numbers; the sandbox hands them on as 0.0/1.0).
- Artifacts are text: every value goes through ``str()``.

This module imports only the standard library and nothing of evoforge: the sandbox child loads it
by path, next to untrusted code, without importing the controller's package. That is also why it
raises its own ``ContractError`` rather than ``evoforge.errors.EvaluatorError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

SCORE_KEY = "combined_score"


class ContractError(ValueError):
    """The evaluator returned something that is not metrics; the message says what."""


def normalize_result(raw: object) -> tuple[dict[str, float], dict[str, str]]:
    """(metrics, artifacts) from whatever ``evaluate`` returned."""
    if isinstance(raw, Mapping):
        return normalize_metrics(raw), {}
    if not hasattr(raw, "metrics"):
        raise ContractError(
            f"evaluate() returned {type(raw).__name__}, expected a dict of metrics or an EvaluationResult"
        )
    return normalize_metrics(raw.metrics), normalize_artifacts(getattr(raw, "artifacts", None))


def normalize_metrics(raw: object) -> dict[str, float]:
    """Validated metrics: floats, except bools, which stay bools (see the module docstring)."""
    if not isinstance(raw, Mapping):
        raise ContractError(f"metrics must be a dict, got {type(raw).__name__}")
    metrics: dict[str, float] = {}
    for name, value in raw.items():
        if not isinstance(name, str):
            raise ContractError(f"metric names must be strings, got {name!r:.60}")
        metrics[name] = value if isinstance(value, bool) else _number(name, value)
    return metrics


def normalize_artifacts(raw: object) -> dict[str, str]:
    """Artifacts as text; ``None`` means none."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ContractError(f"artifacts must be a dict, got {type(raw).__name__}")
    return {str(name): value if isinstance(value, str) else str(value) for name, value in raw.items()}


def _number(name: str, value: object) -> float:
    if isinstance(value, str | bytes | bytearray):
        raise ContractError(f"metric '{name}' is not a number: {value!r:.60}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ContractError(f"metric '{name}' is not a number: {value!r:.60}") from None
    if math.isnan(number):
        raise ContractError(f"metric '{name}' is NaN")
    if number == math.inf:
        raise ContractError(f"metric '{name}' is +inf (only -inf, meaning infeasible, is allowed)")
    return number


def primary_score(metrics: Mapping[str, float], score_metric: str | None) -> float:
    """``combined_score``, else the configured ``score_metric``, else the mean of the non-bool metrics.

    No metric to average (none at all, or only bools) scores ``-inf``.
    """
    if SCORE_KEY in metrics:
        return float(metrics[SCORE_KEY])
    if score_metric is not None:
        if score_metric not in metrics:
            raise ContractError(f"score_metric '{score_metric}' is not among the metrics {sorted(metrics)}")
        return float(metrics[score_metric])
    values = [float(value) for value in metrics.values() if not isinstance(value, bool)]
    return math.fsum(values) / len(values) if values else -math.inf
