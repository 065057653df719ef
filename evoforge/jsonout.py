"""What every ``--json`` option prints: strict JSON that any parser reads.

Python's ``json`` writes ``-Infinity`` and ``NaN``, which are not JSON (RFC 8259): ``jq``, JavaScript
and strict parsers refuse them, yet a failed evaluation scores ``-inf`` and an infeasible metric is
``-inf``. So a non-finite number is written as ``null``, and a top-level ``non_finite`` object maps
the dotted path of each such value to what it was (``"-inf"``, ``"inf"`` or ``"nan"``), e.g.
``{"score": null, "non_finite": {"score": "-inf"}}``. ``non_finite`` is present only when needed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

NON_FINITE_KEY = "non_finite"


def strict_json(payload: Mapping[str, Any]) -> str:
    """``payload`` as one line of strict JSON, its non-finite numbers null and named in NON_FINITE_KEY."""
    non_finite: dict[str, str] = {}
    document = _finite(payload, "", non_finite)
    if non_finite:
        document[NON_FINITE_KEY] = non_finite
    return json.dumps(document, allow_nan=False)


def _finite(value: Any, path: str, non_finite: dict[str, str]) -> Any:
    """A copy of ``value`` with non-finite floats replaced by None, recorded under their path."""
    if isinstance(value, float) and not math.isfinite(value):
        non_finite[path] = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return None
    if isinstance(value, Mapping):
        return {
            key: _finite(item, f"{path}.{key}" if path else str(key), non_finite)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_finite(item, f"{path}.{index}", non_finite) for index, item in enumerate(value)]
    return value
