"""Feature descriptors and their bins: bounded, monotone, deterministic, strict about unknown metrics."""

from __future__ import annotations

import math

import pytest

from evoforge.database.features import (
    FeatureReference,
    bin_index,
    cell_of,
    check_dimensions,
    compute_features,
    diversity,
)
from evoforge.errors import ConfigError

INITIAL = "def solve(n):\n    total = 0\n    for i in range(n):\n        total += i\n    return total\n"
REFERENCE = FeatureReference.from_code(INITIAL)


def test_diversity_is_a_distance_from_the_initial_program_in_0_1() -> None:
    assert diversity(INITIAL, REFERENCE) == 0.0
    assert diversity("while True: pass", REFERENCE) == 1.0
    small = diversity(INITIAL.replace("total += i", "total += i * i"), REFERENCE)
    large = diversity("def solve(n):\n    return n * (n - 1) // 2\n", REFERENCE)
    assert 0.0 < small < large < 1.0
    assert diversity("", REFERENCE) == 1.0
    assert diversity("", FeatureReference.from_code("")) == 0.0


def test_code_length_bins_are_monotone_and_centred_on_the_initial_length() -> None:
    lengths = [1, 10, REFERENCE.length // 4, REFERENCE.length // 2, REFERENCE.length, REFERENCE.length * 2,
               REFERENCE.length * 4, 10**6, 1e308]  # fmt: skip
    bins = [bin_index("code_length", float(length), 10, REFERENCE) for length in lengths]
    assert bins == sorted(bins)
    assert bins[0] == bins[2] == 0 and bins[-1] == bins[-3] == 9
    assert bins[4] == 5  # the initial program sits in the middle
    assert bins[3] < bins[4] < bins[5]  # halving or doubling moves it


def test_metric_dimensions_bin_over_0_1_and_clamp() -> None:
    assert [bin_index("accuracy", v, 10, REFERENCE) for v in (-5.0, 0.0, 0.55, 0.999, 1.0, 1e308)] == [
        0, 0, 5, 9, 9, 9
    ]  # fmt: skip
    assert bin_index("diversity", 0.25, 4, REFERENCE) == 1


def test_compute_features_reads_metrics_and_leaves_out_missing_ones() -> None:
    dimensions = ["code_length", "diversity", "accuracy", "speed"]
    features = compute_features(INITIAL, {"accuracy": 0.5, "speed": -math.inf}, REFERENCE, dimensions)
    assert features == {"code_length": float(len(INITIAL)), "diversity": 0.0, "accuracy": 0.5}
    assert cell_of(features, dimensions, 10, REFERENCE) == (5, 0, 5, 0)
    assert compute_features(INITIAL, {}, REFERENCE, dimensions) == {
        "code_length": float(len(INITIAL)),
        "diversity": 0.0,
    }


def test_check_dimensions_refuses_a_metric_the_initial_program_lacks() -> None:
    check_dimensions(["code_length", "diversity", "accuracy"], {"accuracy": 0.1})
    with pytest.raises(ConfigError, match=r"'speed' is neither built in nor a finite metric") as error:
        check_dimensions(["code_length", "speed"], {"accuracy": 0.1})
    assert "accuracy" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="'accuracy'"):
        check_dimensions(["accuracy"], {"accuracy": -math.inf})
