"""The sums-versus-differences verifier counts both sets exactly and rejects every malformed set."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

from tests.examples.helpers import Example, broken_rule, cheat, rejection_test, returning

EXAMPLE = Example("sums_differences")
verifier = EXAMPLE.verifier
score_set = verifier.score_set


def test_a_small_set_scores_its_exact_value() -> None:
    # {0, 1, 3}: U+U = {0, 1, 2, 3, 4, 6}, U-U = {-3, ..., 3}.
    assert score_set([0, 1, 3]) == (1 + math.log(7 / 6) / math.log(7), 6, 7, 3)


def test_counts_agree_with_a_direct_count_and_order_does_not_matter() -> None:
    rng = random.Random(7)
    elements = [0, *rng.sample(range(1, 500), 60)]
    sums = {a + b for a, b in itertools.product(elements, repeat=2)}
    differences = {a - b for a, b in itertools.product(elements, repeat=2)}
    _, sum_count, difference_count, top = score_set(elements[::-1])
    assert (sum_count, difference_count, top) == (len(sums), len(differences), max(elements))


test_invalid_sets_are_rejected_with_the_violated_rule = rejection_test(
    score_set,
    [
        ([1, 2, 4], "does not contain 0"),
        ([0], "needs a positive element"),
        ([0, 1, 1], "lists an element twice"),
        ([0, -1, 3], r"element 1 = -1 is outside \[0, 10000000\]"),
        ([0, 10**7 + 1], "is outside"),
        ([0, True], "element 1 is bool, expected an integer"),
        ([0, 1.0], "element 1 is float, expected an integer"),
        ([0, "3"], "element 1 is str"),
        ({"U": [0, 1]}, "is dict, expected a list"),
        (list(range(100_001)), "at most 100000 are verified"),
        ([0, *range(10**7 - 20_000, 10**7)], "too large to verify"),
    ],
)


def test_a_candidate_cannot_patch_the_verifier_or_print_a_fake_result(tmp_path: Path) -> None:
    prelude = cheat(
        "score_set",
        "lambda obj: (9.0, 1, 1, 1)",
        [0, 1, 2, 4, 7, 12],
        "import math\nmath.log = lambda *a: 100.0\n",
    )
    body = prelude + returning([0, 1, 3])
    assert EXAMPLE.run(tmp_path, body)["combined_score"] == 1 + math.log(7 / 6) / math.log(7)


def test_an_invalid_candidate_scores_minus_infinity_with_the_rule(tmp_path: Path) -> None:
    result = EXAMPLE.run(tmp_path, returning([1, 2, 3]))
    assert "does not contain 0" in broken_rule(result)


def test_initial_program_is_valid_and_far_from_the_record() -> None:
    metrics = EXAMPLE.run_initial()
    assert metrics["valid"] == 1.0
    assert 1.0 < metrics["combined_score"] < verifier.BEST_KNOWN - 0.1
