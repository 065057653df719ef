"""The search space of a block's literals: one step scale per group of literals of similar magnitude.

A per-literal scale (``|value|``) suits a handful of unrelated constants (10 restarts, a 0.01 step)
but not a list of coordinates: a point at 0.06 would barely move while one at 0.9 moves fifteen times
more. So literals are grouped: ints apart from floats, and within each, sorted by magnitude and cut
where two neighbours differ more than ``GROUP_GAP`` times or the group would span more than
``GROUP_SPAN`` times its smallest value. Coordinates or weights land in one group, unrelated constants
mostly in groups of their own. A group's scale is the root mean square of its
values (1 for zeros). Its box comes from the spread of its values: a group of several literals
(coordinates, weights) may leave its range by ``GROUP_MARGIN`` of that range, since values far
outside what the program holds are rarely valid (a point outside its square); a lone constant may
move ``bound`` times its own magnitude either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evoforge.mutators.literals import NumericLiteral

GROUP_GAP = 10.0  # neighbours (by magnitude) further apart than this ratio start a new group
GROUP_SPAN = 100.0  # nor may a group hold values further apart than this ratio
GROUP_MARGIN = 0.1  # a group's values may leave its range by this share of the range


@dataclass(frozen=True)
class LiteralSpace:
    """Per literal: its value, its group's step scale, and the box it is searched in."""

    values: np.ndarray
    scales: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def magnitude_groups(literals: Sequence[NumericLiteral]) -> list[list[int]]:
    """Indices of ``literals`` grouped by kind (int or float) and by similar magnitude."""
    groups: list[list[int]] = []
    for is_int in (True, False):
        members = sorted(
            (i for i, literal in enumerate(literals) if literal.is_int == is_int),
            key=lambda i: abs(literals[i].value),
        )
        zeros = [i for i in members if literals[i].value == 0]
        nonzero = [i for i in members if literals[i].value != 0]
        current: list[int] = []
        for i in nonzero:
            magnitude = abs(literals[i].value)
            if current and (
                magnitude > GROUP_GAP * abs(literals[current[-1]].value)
                or magnitude > GROUP_SPAN * abs(literals[current[0]].value)
            ):
                groups.append(current)
                current = []
            current.append(i)
        if current:
            groups.append(current)
        if zeros:
            # A zero float among floats is a coordinate or weight like the others: it joins the largest group.
            target = max((g for g in groups if literals[g[0]].is_int == is_int), key=len, default=None)
            if target is None or is_int:
                groups.append(zeros)
            else:
                target.extend(zeros)
    return groups


def literal_space(literals: Sequence[NumericLiteral], bound: float) -> LiteralSpace:
    """The scales and boxes of ``literals``; ``bound`` is a lone literal's reach, in its magnitude."""
    values = np.array([literal.value for literal in literals], dtype=float)
    scales, lower, upper = np.ones_like(values), np.empty_like(values), np.empty_like(values)
    for group in magnitude_groups(literals):
        members = values[group]
        rms = float(np.sqrt(np.mean(members**2)))
        scale = rms if rms > 0 else 1.0
        spread = float(members.max() - members.min())
        margin = GROUP_MARGIN * spread if spread > 0 else bound * scale
        scales[group] = scale
        lower[group] = members.min() - margin
        upper[group] = members.max() + margin
    return LiteralSpace(values, scales, lower, upper)
