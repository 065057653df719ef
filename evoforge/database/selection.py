"""How a parent and its inspirations are drawn from a pool of elites.

A parent is drawn by exploration (uniformly among the elites), exploitation (by rank, with weight
1 / (rank + 1): the best of n elites is drawn with probability 1 / H(n), about 34 % of 10 and 19 %
of 100) or elitism (the best), in the configured ratios. Ranks rather than scores make exploitation
indifferent to the scale and sign of the scores (negative and tiny-margin scores are common) and
let a draw cost one binary search. Every draw uses the caller's RNG, nothing else.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass

from evoforge.database.islands import ElitePool
from evoforge.database.settings import DatabaseConfig
from evoforge.records import Program

_cumulative_weights: list[float] = []  # sum of 1 / (rank + 1) over ranks 0..i, grown on demand


@dataclass(frozen=True)
class Selection:
    """What one generation builds on: the parent, better programs and different programs."""

    parent: Program
    top: tuple[Program, ...]
    diverse: tuple[Program, ...]


def draw_rank(n: int, rng: random.Random) -> int:
    """A rank in [0, n), drawn with probability proportional to 1 / (rank + 1), in O(log n)."""
    global _cumulative_weights
    table = _cumulative_weights
    if len(table) < n:  # replaced whole, never appended to, so concurrent readers see a full table
        table = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(max(n, 2 * len(table)))))
        _cumulative_weights = table
    return bisect.bisect_right(table, rng.random() * table[n - 1], 0, n - 1)


def draw_parent(elites: ElitePool, config: DatabaseConfig, rng: random.Random) -> Program:
    """Exploration, exploitation or elitism, chosen with the configured ratios."""
    draw = rng.random()
    if draw < config.exploration_ratio:
        return elites.at_random(rng)
    if draw < config.exploration_ratio + config.exploitation_ratio:
        return elites.at_rank(draw_rank(len(elites), rng))
    return elites.at_rank(0)


def best_others(elites: ElitePool, count: int, parent: Program) -> tuple[Program, ...]:
    """The ``count`` best elites other than the parent, in O(count)."""
    return tuple(itertools.islice((p for p in elites.ranked() if p.id != parent.id), count))


def draw_distinct(
    elites: ElitePool, count: int, exclude: set[int], rng: random.Random
) -> tuple[Program, ...]:
    """Up to ``count`` different elites drawn uniformly, none of them in ``exclude`` (ids).

    Draws with rejection, O(count) expected while the pool is at least twice the programs it
    must avoid; a smaller pool (a handful of programs) is enumerated instead.
    """
    wanted = min(count, len(elites) - sum(1 for program_id in exclude if program_id in elites))
    if wanted <= 0:
        return ()
    if len(elites) < 2 * (len(exclude) + wanted):
        return tuple(rng.sample([p for p in elites.members if p.id not in exclude], wanted))
    chosen: dict[int, Program] = {}
    while len(chosen) < wanted:
        program = elites.at_random(rng)
        if program.id not in exclude:
            chosen.setdefault(program.id, program)
    return tuple(chosen.values())
