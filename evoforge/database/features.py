"""Feature descriptors of programs for the MAP-Elites grid, and their deterministic bins.

Built-in dimensions: ``code_length`` (characters, binned on a log scale around the initial
program's length, from a quarter to four times it) and ``diversity`` (Jaccard distance between the
token bigrams of the program and of the initial program: how far it drifted, in [0, 1]). Any other
dimension is a metric of the evaluator, expected in [0, 1] (normalise it in the evaluator); a
missing metric counts as 0. Bins never depend on the population, so adding a program never moves
another one to a different cell.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?|[^\s\w]")
LENGTH_RANGE_LOG2 = 2.0  # code_length bins span [ref / 4, ref * 4]


def _bigrams(code: str) -> frozenset[tuple[str, str]]:
    tokens = _TOKEN.findall(code)
    return frozenset(itertools.pairwise(tokens))


@dataclass(frozen=True)
class FeatureReference:
    """What features are measured against: the run's initial program."""

    length: int
    bigrams: frozenset[tuple[str, str]]

    @classmethod
    def from_code(cls, code: str) -> FeatureReference:
        return cls(max(1, len(code)), _bigrams(code))


def diversity(code: str, reference: FeatureReference) -> float:
    """Jaccard distance between the token bigrams of ``code`` and of the reference, in [0, 1]."""
    grams = _bigrams(code)
    union = len(grams | reference.bigrams)
    return 0.0 if union == 0 else 1.0 - len(grams & reference.bigrams) / union


def compute_features(
    code: str, metrics: dict[str, float], reference: FeatureReference, dimensions: Sequence[str]
) -> dict[str, float]:
    """The value of each feature dimension for one program."""
    features: dict[str, float] = {}
    for name in dimensions:
        if name == "code_length":
            features[name] = float(len(code))
        elif name == "diversity":
            features[name] = diversity(code, reference)
        else:
            value = metrics.get(name, 0.0)
            features[name] = value if math.isfinite(value) else 0.0
    return features


def bin_index(name: str, value: float, bins: int, reference: FeatureReference) -> int:
    """The cell coordinate of ``value`` along dimension ``name``, in [0, bins)."""
    if name == "code_length":
        ratio = math.log2(max(value, 1.0) / reference.length)
        position = (ratio + LENGTH_RANGE_LOG2) / (2 * LENGTH_RANGE_LOG2)
    else:
        position = value
    return min(bins - 1, max(0, int(position * bins)))
