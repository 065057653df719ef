"""The search space of tune and refine: literals of similar magnitude share one step scale."""

from __future__ import annotations

import numpy as np

from evoforge.mutators.literals import find_literals
from evoforge.mutators.space import literal_space, magnitude_groups


def block(body: str) -> str:
    return f"# EVOLVE-BLOCK-START\n{body}\n# EVOLVE-BLOCK-END\n"


def test_coordinates_share_one_scale_and_move_alike() -> None:
    """A point at 0.06 moves as far as one at 0.9: the issue's complaint about per-literal scales."""
    literals = find_literals(block("P = [[0.06, 0.9], [0.5, 0.0], [0.31, 0.77]]"))
    space = literal_space(literals, bound=1.0)
    assert len(set(space.scales.tolist())) == 1
    assert np.isclose(space.scales[0], np.std(space.values))
    assert np.allclose(space.lower, -0.09) and np.allclose(space.upper, 0.99)  # its range, widened by 10 %


def test_unrelated_constants_keep_their_own_scales() -> None:
    literals = find_literals(block("RESTARTS = 10\nSTEPS = 2000\nSTEP = 0.001\nRADIUS = 0.3\nDECAY = 0.9"))
    groups = [[literals[i].value for i in group] for group in magnitude_groups(literals)]
    assert sorted(groups) == sorted([[10.0], [2000.0], [0.001], [0.3, 0.9]])
    space = literal_space(literals, bound=10.0)
    assert space.scales.tolist() == [10.0, 2000.0, 0.001, 0.3, 0.9]  # a group of two is not data
    assert space.lower[2] == 0.001 - 10 * 0.001 and space.upper[4] == 0.9 + 10 * 0.9


def test_a_coordinate_ten_times_smaller_than_its_neighbours_is_still_a_coordinate() -> None:
    """Random starts often hold one (0.003 among values up to 0.9): it must move like the others."""
    literals = find_literals(block("P = [[0.003, 0.9], [0.5, 0.35], [0.31, 0.77], [0.62, 0.12]]"))
    assert len(magnitude_groups(literals)) == 1
    space = literal_space(literals, bound=1.0)
    assert len(set(space.scales.tolist())) == 1


def test_a_constant_far_outside_the_data_keeps_its_own_scale() -> None:
    literals = find_literals(block("TOL = 1e-09\nP = [[0.1, 0.9], [0.5, 0.35], [0.31, 0.77]]\nLIMIT = 40.0"))
    groups = [sorted(literals[i].value for i in group) for group in magnitude_groups(literals)]
    assert sorted(groups) == sorted([[1e-09], [0.1, 0.31, 0.35, 0.5, 0.77, 0.9], [40.0]])
