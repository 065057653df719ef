"""The matmul-rank verifier accepts exact decompositions (Strassen's included) and names any wrong cell."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from evoforge.verify import InvalidObject
from tests.examples.helpers import Example, broken_rule, cheat, rejection_test, returning

EXAMPLE = Example("matmul_rank")
score_decomposition = EXAMPLE.verifier.score_decomposition

# Strassen (1969), written out by hand. U over (A11, A12, A21, A22), V over (B11, B12, B21, B22),
# W over (C11, C21, C12, C22): W_r[k·2 + i] is M_r's coefficient in C[i][k].
STRASSEN = {
    "U": [[1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 1], [1, 1, 0, 0], [-1, 0, 1, 0], [0, 1, 0, -1]],
    "V": [[1, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, -1], [-1, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]],
    "W": [[1, 0, 0, 1], [0, 1, 0, -1], [0, 0, 1, 1], [1, 1, 0, 0], [-1, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]],
}


def schoolbook(
    n: int, m: int, p: int, u: object = 1, v: object = 1, w: object = 1
) -> dict[str, list[list[object]]]:
    """The rank n·m·p decomposition; ``u``, ``v`` and ``w`` are the nonzero entries of U_r, V_r and W_r."""
    factors: dict[str, list[list[object]]] = {"U": [], "V": [], "W": []}
    for i in range(n):
        for j in range(m):
            for k in range(p):
                for name, size, index, value in (
                    ("U", n * m, i * m + j, u),
                    ("V", m * p, j * p + k, v),
                    ("W", p * n, k * n + i, w),
                ):
                    row: list[object] = [0] * size
                    row[index] = value
                    factors[name].append(row)
    return factors


def test_strassen_has_rank_seven() -> None:
    assert score_decomposition(STRASSEN, (2, 2, 2)) == 7


def test_schoolbook_decompositions_of_rectangular_shapes_are_exact() -> None:
    assert score_decomposition(schoolbook(2, 4, 5), (2, 4, 5)) == 40
    assert score_decomposition(schoolbook(2, 3, 4), (2, 3, 4)) == 24


def test_halves_and_gaussian_entries_are_exact() -> None:
    # With denominator 2 every entry is halved: (1/2)e ⊗ e ⊗ 2e and (i/2)e ⊗ e ⊗ (-2i)e are e ⊗ e ⊗ e.
    assert score_decomposition({**schoolbook(2, 2, 2, u=1, v=2, w=4), "denominator": 2}, (2, 2, 2)) == 8
    gaussian = {**schoolbook(2, 2, 2, u=[0, 1], v=2, w=[0, -4]), "denominator": 2}
    assert score_decomposition(gaussian, (2, 2, 2)) == 8
    with pytest.raises(InvalidObject, match=r"the sum of the terms is 1/2 \+ 1/2i at T\[0, 0, 0\]"):
        score_decomposition({**schoolbook(2, 2, 2, u=[1, 1], v=2, w=2), "denominator": 2}, (2, 2, 2))


def strassen_with(name: str, row: int, column: int, value: object) -> dict[str, object]:
    changed = copy.deepcopy(STRASSEN)
    changed[name][row][column] = value
    return changed


test_invalid_decompositions_are_rejected_with_the_violated_rule = rejection_test(
    lambda obj: score_decomposition(obj, (2, 2, 2)),
    [
        (strassen_with("W", 6, 0, -1), r"the sum of the terms is -1 at T\[1, 2, 0\], expected 1"),
        (strassen_with("U", 1, 0, 1), r"the sum of the terms is 1 at T\[0, 0, 1\], expected 0"),
        (strassen_with("V", 2, 1, 1.0), r"V\[2\]\[1\] is float, expected an integer"),
        (strassen_with("U", 0, 0, True), r"U\[0\]\[0\] is bool"),
        (strassen_with("U", 0, 0, [1, 0, 0]), r"U\[0\]\[0\] \[re, im\] has 3 items, expected 2"),
        (strassen_with("U", 0, 0, 10**7), "out of range"),
        ({**STRASSEN, "V": STRASSEN["V"][:6]}, "V has 6 items, expected 7"),
        ({**STRASSEN, "W": [row[:3] for row in STRASSEN["W"]]}, r"W\[0\] has 3 items, expected 4"),
        ({"U": STRASSEN["U"], "V": STRASSEN["V"]}, "expected U, V, W"),
        ({**STRASSEN, "rank": 6}, "expected U, V, W"),
        ({**STRASSEN, "denominator": 3}, "denominator is 3, expected 1 or 2"),
        ({"U": [], "V": [], "W": []}, "U has 0 rows, expected between 1 and 8"),
        (schoolbook(2, 2, 2) | {"U": [[1, 0, 0, 0]] * 9}, "U has 9 rows, expected between 1 and 8"),
        ([STRASSEN["U"], STRASSEN["V"], STRASSEN["W"]], "is list, expected a dict"),
    ],
)


def test_a_candidate_cannot_patch_the_verifier_or_print_a_fake_result(tmp_path: Path) -> None:
    prelude = cheat("score_decomposition", "lambda obj, shape=None: 1", -1, "SHAPE = (1, 1, 1)\n")
    body = prelude + returning(schoolbook(3, 3, 3))
    assert EXAMPLE.run(tmp_path, body)["combined_score"] == -27.0


def test_a_wrong_decomposition_scores_minus_infinity_with_the_cell(tmp_path: Path) -> None:
    result = EXAMPLE.run(tmp_path, returning(STRASSEN))  # Strassen is not ⟨3,3,3⟩
    assert "U[0] has 4 items, expected 9" in broken_rule(result)


def test_initial_program_is_the_schoolbook_algorithm() -> None:
    metrics = EXAMPLE.run_initial()
    assert metrics["combined_score"] == -27.0 and metrics["valid"] == 1.0
