"""The in-memory archive: one MAP-Elites grid per island, ring migration, parent selection.

The archive is an index rebuilt from the store: it knows no SQL. Its state is a pure function of
the sequence of ``add`` calls, and all randomness comes from the caller's RNG, so a run replays
exactly. A grid holds at most ``feature_bins ** len(feature_dimensions)`` elites per island, so
selection works on a bounded set whatever the population size.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from evoforge.config import DatabaseConfig
from evoforge.database.features import FeatureReference, bin_index
from evoforge.records import Program

Cell = tuple[int, ...]


class AddStatus(enum.IntEnum):
    """What adding a program did, in increasing order of improvement."""

    NOT_ADDED = 0
    IMPROVED_CELL = 1
    NEW_CELL = 2
    NEW_BEST = 3


@dataclass(frozen=True)
class Selection:
    parent: Program
    top: tuple[Program, ...]
    diverse: tuple[Program, ...]


def _better(a: Program, b: Program | None) -> bool:
    """Higher score wins; on a tie the older program stays (stable, deterministic)."""
    return b is None or a.score > b.score


@dataclass
class Island:
    grid: dict[Cell, Program] = field(default_factory=dict)
    best: Program | None = None
    _ranked: list[Program] | None = None

    def place(self, cell: Cell, program: Program) -> AddStatus:
        current = self.grid.get(cell)
        if current is not None and not _better(program, current):
            return AddStatus.NOT_ADDED
        self.grid[cell] = program
        self._ranked = None
        if _better(program, self.best):
            self.best = program
        return AddStatus.NEW_CELL if current is None else AddStatus.IMPROVED_CELL

    def ranked(self) -> list[Program]:
        """Elites from best to worst (ties by id); cached until the grid changes."""
        if self._ranked is None:
            self._ranked = sorted(self.grid.values(), key=lambda p: (-p.score, p.id))
        return self._ranked


class Archive:
    """MAP-Elites islands over the configured feature dimensions."""

    def __init__(self, config: DatabaseConfig, reference: FeatureReference) -> None:
        self._config = config
        self._reference = reference
        self.islands = [Island() for _ in range(config.num_islands)]
        self._best: Program | None = None
        self._added = 0

    def __len__(self) -> int:
        return self._added

    def best(self) -> Program | None:
        return self._best

    def cell(self, program: Program) -> Cell:
        bins = self._config.feature_bins
        return tuple(
            bin_index(name, program.features.get(name, 0.0), bins, self._reference)
            for name in self._config.feature_dimensions
        )

    def add(self, program: Program) -> AddStatus:
        """Place a program in its island's grid (the initial program in every island)."""
        self._added += 1
        if not program.is_valid:
            return AddStatus.NOT_ADDED
        cell = self.cell(program)
        targets = (
            range(len(self.islands)) if program.parent_id is None else [program.island % len(self.islands)]
        )
        status = max(self.islands[i].place(cell, program) for i in targets)
        if _better(program, self._best):
            self._best = program
            status = AddStatus.NEW_BEST
        if self._added % self._config.migration_interval == 0:
            self._migrate()
        return status

    def rebuild(self, programs: Iterable[Program]) -> None:
        """Replay stored programs in id order (the order the live run applied them)."""
        for program in programs:
            self.add(program)

    def _migrate(self) -> None:
        """Ring migration: each island sends copies of its best programs to the next island."""
        emigrants = [island.ranked()[: self._config.migration_count] for island in self.islands]
        for index, programs in enumerate(emigrants):
            target = self.islands[(index + 1) % len(self.islands)]
            for program in programs:
                target.place(self.cell(program), program)

    def island_sizes(self) -> list[int]:
        return [len(island.grid) for island in self.islands]

    def sample(self, island: int, rng: random.Random) -> Selection:
        """Draw a parent and inspirations from ``island`` (from all islands while it is empty)."""
        ranked = self.islands[island % len(self.islands)].ranked() or self._all_elites()
        if not ranked:
            raise LookupError("the archive holds no valid program to select as a parent")
        config = self._config
        draw = rng.random()
        if draw < config.exploration_ratio:
            parent = ranked[rng.randrange(len(ranked))]
        elif draw < config.exploration_ratio + config.exploitation_ratio:
            weights = [1.0 / (rank + 1) for rank in range(len(ranked))]
            parent = rng.choices(ranked, weights=weights)[0]
        else:
            parent = ranked[0]
        top = tuple(p for p in ranked if p.id != parent.id)[: config.num_top_inspirations]
        taken = {parent.id, *(p.id for p in top)}
        pool = [p for p in self._all_elites() if p.id not in taken]
        diverse = tuple(rng.sample(pool, min(config.num_diverse_inspirations, len(pool))))
        return Selection(parent, top, diverse)

    def _all_elites(self) -> list[Program]:
        """Distinct elites of every island, in a deterministic order."""
        seen: dict[int, Program] = {}
        for island in self.islands:
            for program in island.grid.values():
                seen.setdefault(program.id, program)
        return sorted(seen.values(), key=lambda p: p.id)
