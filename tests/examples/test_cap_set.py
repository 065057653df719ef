"""The cap-set verifier accepts caps with their exact size and names a line in any set that has one."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from evoforge.verify import InvalidObject
from tests.examples.helpers import Example, broken_rule, cheat, rejection_test, returning

EXAMPLE = Example("cap_set")
verifier = EXAMPLE.verifier
score_cap_set = verifier.score_cap_set


def binary_cap(n: int) -> list[list[int]]:
    """{0, 1}^n: three of its vectors summing to 0 mod 3 would agree in every coordinate."""
    return [list(v) for v in itertools.product((0, 1), repeat=n)]


@pytest.mark.parametrize("n", [2, 4, 8])
def test_binary_caps_score_their_size(n: int) -> None:
    assert score_cap_set(binary_cap(n), n) == 2**n


def has_line(vectors: list[tuple[int, ...]]) -> bool:
    return any(
        all((a + b + c) % 3 == 0 for a, b, c in zip(x, y, z, strict=True))
        for x, y, z in itertools.combinations(vectors, 3)
    )


def test_verdicts_agree_with_a_brute_force_search_for_lines() -> None:
    rng = random.Random(3)
    space = list(itertools.product(range(3), repeat=3))
    for size in (3, 5, 7, 9, 12):
        for _ in range(10):
            vectors = rng.sample(space, size)
            try:
                score_cap_set([list(v) for v in vectors], 3)
                accepted = True
            except InvalidObject:
                accepted = False
            assert accepted is not has_line(vectors)


test_invalid_sets_are_rejected_with_the_violated_rule = rejection_test(
    lambda obj: score_cap_set(obj, 4),
    [
        ([[0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2]], "vectors 0, 1 and 2 lie on a line"),
        ([*binary_cap(4), [2, 2, 2, 2]], r"vectors 0, \d+ and 16 lie on a line"),
        ([[0, 0, 0, 3]], r"vector 0 = \[0, 0, 0, 3\] has a coordinate outside"),
        ([[0, 0, 0, -1]], "has a coordinate outside"),
        ([[0, 0, 0, True]], "vector 0 coordinate 3 is bool, expected an integer"),
        ([[0, 0, 0, 1.0]], "coordinate 3 is float"),
        ([[0, 0, 0]], "vector 0 has 3 items, expected 4"),
        ([[0, 0, 0, 1], [0, 0, 0, 1]], "lists a vector twice"),
        ("0000", "is str, expected a list"),
    ],
)


def test_a_candidate_cannot_patch_the_verifier_or_print_a_fake_result(tmp_path: Path) -> None:
    prelude = cheat("score_cap_set", "lambda obj, n=8: 512", 512, "N = 2\n")
    body = prelude + returning(binary_cap(8))
    assert EXAMPLE.run(tmp_path, body)["combined_score"] == 256.0


def test_a_set_with_a_line_scores_minus_infinity_with_the_line(tmp_path: Path) -> None:
    result = EXAMPLE.run(tmp_path, returning([[0] * 8, [1] * 8, [2] * 8]))
    assert broken_rule(result) == "vectors 0, 1 and 2 lie on a line (x + y + z ≡ 0 mod 3)"


def test_initial_program_is_a_valid_cap_far_from_the_record() -> None:
    metrics = EXAMPLE.run_initial()
    assert metrics["valid"] == 1.0
    assert 100 < metrics["combined_score"] < 0.6 * verifier.BEST_KNOWN[8]
