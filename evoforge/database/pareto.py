"""Several objectives: non-dominated sorting, crowding distance, and one island's Pareto population.

With two or more ``objectives`` an island keeps, beside its MAP-Elites grid, a population of at most
``database.pareto_size`` programs chosen as NSGA-II chooses survivors: whole fronts by non-dominated
rank, the last front that fits cut by crowding distance (the most isolated kept). Its rank-0 front is
what parents are drawn from, by a crowded binary tournament, so that both the extremes and the middle
of the trade-off keep being improved; a single score would only ever pull towards one end.

Objective vectors are oriented so that larger is better (a ``min`` objective is negated). A program
lacking an objective metric, or with a non-finite one, has no vector and never joins a population.
Everything here is a pure function of the programs offered and of the caller's RNG.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence

from evoforge.database.settings import Objective
from evoforge.errors import ConfigError
from evoforge.records import Program

Vector = tuple[float, ...]


def check_objectives(objectives: Sequence[Objective], metrics: Mapping[str, float]) -> None:
    """Refuse an objective metric the initial program's evaluation did not return as a finite number."""
    for objective in objectives:
        if not math.isfinite(metrics.get(objective.metric, math.nan)):
            known = ", ".join(sorted(metrics)) or "none"
            raise ConfigError(
                f"objectives: '{objective.metric}' is not a finite metric of the initial program "
                f"(known: {known})"
            )


def objective_vector(metrics: Mapping[str, float], objectives: Sequence[Objective]) -> Vector | None:
    """The objectives of one program, larger is better for each; None when one is missing or infinite."""
    values = []
    for objective in objectives:
        value = metrics.get(objective.metric, math.nan)
        if not math.isfinite(value):
            return None
        values.append(value if objective.direction == "max" else -value)
    return tuple(values)


def dominates(a: Vector, b: Vector) -> bool:
    """``a`` is at least as good as ``b`` everywhere and better somewhere."""
    better = False
    for x, y in zip(a, b, strict=True):
        if x < y:
            return False
        better = better or x > y
    return better


def non_dominated_sort(vectors: Sequence[Vector]) -> list[list[int]]:
    """Indices of ``vectors`` by front: front 0 is dominated by none, front k only by earlier fronts."""
    dominated_by: list[list[int]] = [[] for _ in vectors]  # i -> the indices i dominates
    counts = [0] * len(vectors)  # i -> how many dominate i
    for i, a in enumerate(vectors):
        for j in range(i + 1, len(vectors)):
            b = vectors[j]
            if dominates(a, b):
                dominated_by[i].append(j)
                counts[j] += 1
            elif dominates(b, a):
                dominated_by[j].append(i)
                counts[i] += 1
    fronts = []
    current = [i for i, count in enumerate(counts) if count == 0]
    while current:
        fronts.append(current)
        following = []
        for i in current:
            for j in dominated_by[i]:
                counts[j] -= 1
                if counts[j] == 0:
                    following.append(j)
        current = sorted(following)
    return fronts


def crowding_distances(vectors: Sequence[Vector], front: Sequence[int]) -> dict[int, float]:
    """NSGA-II's crowding distance of each index of ``front``: the extremes of each objective are infinite."""
    distance = dict.fromkeys(front, 0.0)
    if len(front) < 3:
        return dict.fromkeys(front, math.inf)
    for axis in range(len(vectors[front[0]])):
        ordered = sorted(front, key=lambda i: (vectors[i][axis], i))
        low, high = vectors[ordered[0]][axis], vectors[ordered[-1]][axis]
        distance[ordered[0]] = distance[ordered[-1]] = math.inf
        if high == low:
            continue
        for before, here, after in zip(ordered, ordered[1:], ordered[2:], strict=False):
            distance[here] += (vectors[after][axis] - vectors[before][axis]) / (high - low)
    return distance


def pareto_front(programs: Iterable[Program], objectives: Sequence[Objective]) -> list[Program]:
    """The valid programs no other valid program dominates, in id order (what ``status`` shows).

    One pass keeping the current front: O(programs x front size), no quadratic sort of the run.
    """
    front: list[tuple[Vector, Program]] = []
    for program in programs:
        vector = objective_vector(program.metrics, objectives) if program.is_valid else None
        if vector is None or any(dominates(kept, vector) or kept == vector for kept, _ in front):
            continue
        front = [(kept, other) for kept, other in front if not dominates(vector, kept)]
        front.append((vector, program))
    return sorted((program for _, program in front), key=lambda p: p.id)


class ParetoPopulation:
    """One island's survivors under several objectives; rank 0 of them is the island's front."""

    def __init__(self, objectives: Sequence[Objective], capacity: int) -> None:
        self._objectives = tuple(objectives)
        self._capacity = capacity
        self._members: list[tuple[Vector, Program]] = []
        self._ranks: list[int] = []  # the non-dominated rank of each member
        self.front: tuple[Program, ...] = ()  # rank 0, most isolated first (then oldest)
        self.ranked: tuple[Program, ...] = ()  # every member, by (rank, -crowding, id)

    def __contains__(self, program_id: int) -> bool:
        return any(program.id == program_id for _, program in self._members)

    def clear(self) -> None:
        self._members, self._ranks, self.front, self.ranked = [], [], (), ()

    def offer(self, program: Program) -> bool:
        """Let ``program`` compete for a place; return whether it is on the front afterwards."""
        vector = objective_vector(program.metrics, self._objectives)
        if vector is None or program.id in self or self._below_the_last_rank(vector):
            return False
        self._members.append((vector, program))
        self._select()
        return any(member.id == program.id for member in self.front)

    def draw(self, rng: random.Random) -> Program:
        """A crowded binary tournament on the front: of two members drawn, the more isolated one."""
        first, second = rng.randrange(len(self.front)), rng.randrange(len(self.front))
        return self.front[min(first, second)]  # the front is ordered most isolated first

    def _below_the_last_rank(self, vector: Vector) -> bool:
        """A full population whose last rank dominates ``vector`` would drop it: skip the re-sort (the
        common case once a run has found its front)."""
        if len(self._members) < self._capacity:
            return False
        last = self._ranks[-1]
        return any(
            rank == last and dominates(kept, vector)
            for (kept, _), rank in zip(self._members, self._ranks, strict=True)
        )

    def _select(self) -> None:
        """Keep whole fronts while they fit, then the most isolated of the next one (NSGA-II)."""
        vectors = [vector for vector, _ in self._members]
        order: list[tuple[int, float, int, int]] = []  # (rank, -crowding, program id, index)
        for rank, front in enumerate(non_dominated_sort(vectors)):
            crowding = crowding_distances(vectors, front)
            order.extend((rank, -crowding[i], self._members[i][1].id, i) for i in front)
        order.sort()
        kept = order[: self._capacity]
        self._members = [self._members[i] for *_, i in kept]
        self._ranks = [rank for rank, *_ in kept]
        self.ranked = tuple(program for _, program in self._members)
        self.front = tuple(self._members[n][1] for n, entry in enumerate(kept) if entry[0] == 0)
