"""The search space of a block's literals: one step scale per group of literals of similar magnitude.

A per-literal scale (``|value|``) suits a handful of unrelated constants (10 restarts, a 0.01 step)
but not a list of coordinates: a point at 0.06 would barely move while one at 0.9 moves fifteen times
more. So literals are grouped: ints apart from floats, and within each, sorted by magnitude and cut
where two neighbours differ more than ``GROUP_GAP`` times or the group would span more than
``GROUP_SPAN`` times its smallest value. A group of at least ``DATA_GROUP`` literals is data
(coordinates, weights, a table): its literals share one scale, the standard deviation of their
values, and its box comes from their spread: they may leave their range by ``GROUP_MARGIN`` of it,
since values far outside what the program holds are rarely valid (a point outside its square fails
and teaches CMA-ES nothing). Smaller groups are constants, each with its own magnitude as its scale
(1 for a zero) and ``bound`` times that as its reach either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evoforge.mutators.literals import NumericLiteral

GROUP_GAP = 10.0  # neighbours (by magnitude) further apart than this ratio start a new group
GROUP_SPAN = 100.0  # nor may a group hold values further apart than this ratio
GROUP_MARGIN = 0.1  # a data group's values may leave its range by this share of the range
DATA_GROUP = 5  # a group this large holds data (coordinates, weights), not unrelated constants
TINY_SHARE = 1e-3  # a float this small a share of a data group's spread is a constant, not one of its data


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
        if not is_int:
            groups = _join_data(groups, literals)
        if zeros:
            # A zero float among floats is a coordinate or weight like the others: it joins the largest group.
            target = max((g for g in groups if literals[g[0]].is_int == is_int), key=len, default=None)
            if target is None or is_int:
                groups.append(zeros)
            else:
                target.extend(zeros)
    return groups


def _join_data(groups: list[list[int]], literals: Sequence[NumericLiteral]) -> list[list[int]]:
    """Float groups whose values all lie within the largest float group's range, widened by its spread
    on each side, join it when it is data: magnitude alone would make a coordinate ten times smaller
    than its neighbours (0.003 among values up to 0.9) a constant of its own that barely moves. A value
    below ``TINY_SHARE`` of the spread stays apart: a tolerance (1e-9) among coordinates is a constant."""
    floats = [g for g in groups if not literals[g[0]].is_int]
    if not floats:
        return groups
    data = max(floats, key=len)
    joined = True
    while joined and len(data) >= DATA_GROUP:
        joined = False
        values = [literals[i].value for i in data]
        spread = max(values) - min(values)
        low, high = min(values) - spread, max(values) + spread
        for group in floats:
            if group is not data and all(
                low <= literals[i].value <= high and abs(literals[i].value) >= TINY_SHARE * spread
                for i in group
            ):
                data.extend(group)
                floats.remove(group)
                groups.remove(group)
                joined = True
                break
    return groups


def literal_space(literals: Sequence[NumericLiteral], bound: float) -> LiteralSpace:
    """The scales and boxes of ``literals``; ``bound`` is a constant's reach, in its magnitude."""
    values = np.array([literal.value for literal in literals], dtype=float)
    scales = np.where(values == 0, 1.0, np.abs(values))
    lower, upper = values - bound * scales, values + bound * scales
    for group in magnitude_groups(literals):
        members = values[group]
        spread = float(members.max() - members.min())
        if len(group) >= DATA_GROUP and spread > 0:
            scales[group] = float(np.std(members))
            lower[group] = members.min() - GROUP_MARGIN * spread
            upper[group] = members.max() + GROUP_MARGIN * spread
    return LiteralSpace(values, scales, lower, upper)
