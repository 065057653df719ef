"""Feature descriptors of programs (the MAP-Elites axes) and their deterministic bins.

Built-in dimensions:

- ``code_length``: characters of the program. Binned on a log scale around the initial program's
  length, from a quarter of it to four times it (shorter or longer programs share the edge bins),
  so that halving or doubling a program moves it the same number of cells.
- ``diversity``: how far the program drifted from the initial one, the Jaccard distance between the
  sets of adjacent-token pairs of the two, in [0, 1], binned linearly. Lexical and cheap: one
  tokenisation per program, the initial program's pairs are computed once.
- ``novelty``: one minus the highest cosine similarity between the program and the elites of its
  island when it was made (database/novelty.py), in [0, 1], binned linearly. Measured only in a run
  (the initial program, which had no island to compare with, records no value).

Any other dimension is a metric of the evaluator, expected in [0, 1] (normalise it in the evaluator;
values outside share the edge bins). Naming a metric that the initial program's evaluation lacks is
a configuration error (``check_dimensions``). A later program lacking it (its evaluation failed, or
the evaluator skipped the metric) records no value for that dimension and falls in the lowest bin:
a candidate never stops the run.

Bin bounds never depend on the population, so adding a program never moves another one, and the
cell of a program is a pure function of its stored features.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evoforge.errors import ConfigError

BUILTIN_DIMENSIONS = ("code_length", "diversity", "novelty")
LENGTH_SPAN_LOG2 = 2.0  # code_length bins span [initial / 2**2, initial * 2**2]

_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?|[^\s\w]")

Cell = tuple[int, ...]


def tokens(code: str) -> list[str]:
    """Identifiers, numbers and single punctuation characters: the lexical view of a program."""
    return _TOKEN.findall(code)


def _token_pairs(code: str) -> frozenset[tuple[str, str]]:
    return frozenset(itertools.pairwise(tokens(code)))


@dataclass(frozen=True)
class FeatureReference:
    """What features are measured against: the run's initial program."""

    length: int
    token_pairs: frozenset[tuple[str, str]]

    @classmethod
    def from_code(cls, code: str) -> FeatureReference:
        return cls(max(1, len(code)), _token_pairs(code))


def diversity(code: str, reference: FeatureReference) -> float:
    """Jaccard distance between the adjacent-token pairs of ``code`` and of the reference, in [0, 1]."""
    pairs = _token_pairs(code)
    union = len(pairs | reference.token_pairs)
    return 0.0 if union == 0 else 1.0 - len(pairs & reference.token_pairs) / union


def check_dimensions(dimensions: Sequence[str], metrics: Mapping[str, float]) -> None:
    """Refuse a metric dimension the initial program's evaluation did not return (as a finite number)."""
    for name in dimensions:
        if name not in BUILTIN_DIMENSIONS and not math.isfinite(metrics.get(name, math.nan)):
            known = ", ".join([*BUILTIN_DIMENSIONS, *sorted(metrics)])
            raise ConfigError(
                f"database.feature_dimensions: '{name}' is neither built in nor a finite metric of the "
                f"initial program (known: {known})"
            )


def compute_features(
    code: str,
    metrics: Mapping[str, float],
    reference: FeatureReference,
    dimensions: Sequence[str],
    novelty: float | None = None,
) -> dict[str, float]:
    """The value of each feature dimension for one program; a missing or infinite metric is left out,
    and so is ``novelty`` when it was not measured."""
    features: dict[str, float] = {}
    for name in dimensions:
        if name == "code_length":
            features[name] = float(len(code))
        elif name == "diversity":
            features[name] = diversity(code, reference)
        elif name == "novelty":
            if novelty is not None:
                features[name] = novelty
        elif math.isfinite(value := metrics.get(name, math.nan)):
            features[name] = float(value)
    return features


def bin_index(name: str, value: float, bins: int, reference: FeatureReference) -> int:
    """The coordinate of ``value`` along dimension ``name``, in [0, bins)."""
    if name == "code_length":
        position = (math.log2(max(value, 1.0) / reference.length) + LENGTH_SPAN_LOG2) / (2 * LENGTH_SPAN_LOG2)
    else:
        position = value
    return min(bins - 1, math.floor(min(max(position, 0.0), 1.0) * bins))


def cell_of(
    features: Mapping[str, float], dimensions: Sequence[str], bins: int, reference: FeatureReference
) -> Cell:
    """The grid cell of a program's features; a dimension without a value is in bin 0."""
    return tuple(
        bin_index(name, value, bins, reference) if (value := features.get(name)) is not None else 0
        for name in dimensions
    )
