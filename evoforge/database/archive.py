"""The in-memory archive: one MAP-Elites grid per island, migration, resets, parent selection.

The archive is an index rebuilt from the store: it knows no SQL, and it holds only elites (at most
``num_islands * feature_bins ** len(feature_dimensions)`` programs), never the whole population.
Its state is a pure function of the sequence of ``add`` calls and the run's seed (which drives the
random migration topology and the choice of reset founders); every draw comes from the caller's
RNG, so a run, and a resume that replays the same programs in the same order (evoforge/replay.py),
select identically.

Cost per call, with E the elites of one island (bounded by the grid, independent of the population):
``add`` O(D + log E) comparisons plus a memmove of at most E pointers (D feature dimensions), and
every ``migration_interval`` adds a migration of O(islands * migration_count * log E); ``sample``
O(log E + num_top_inspirations + num_diverse_inspirations) expected. With two or more objectives an
``add`` also re-sorts the island's Pareto population, O(objectives * pareto_size ** 2).
"""

from __future__ import annotations

import enum
import itertools
import math
import random
from collections.abc import Sequence

from evoforge.database.features import Cell, FeatureReference, cell_of
from evoforge.database.islands import ElitePool, Island, IslandLog
from evoforge.database.pareto import ParetoPopulation
from evoforge.database.selection import Selection, best_others, draw_distinct, draw_parent
from evoforge.database.settings import DatabaseConfig, Objective
from evoforge.records import Program


class AddStatus(enum.IntEnum):
    """What adding a program did, in increasing order of improvement (``status > 0``: it was kept)."""

    NOT_ADDED = 0
    IMPROVED_CELL = 1
    NEW_CELL = 2
    NEW_BEST = 3


class Archive:
    """MAP-Elites islands over the configured feature dimensions.

    A program joins the grid of its island (``program.island``); a program without a parent (the
    initial program) seeds every island. Invalid programs (failed, or scoring ``-inf``) are counted
    but never become elites, so they are never drawn. Every ``migration_interval`` adds (valid or
    not), each island sends copies of its ``migration_count`` best elites, chosen before any island
    receives, to the next island of the ring (``migration_topology: ring``) or to another island
    drawn at random (``random``), where they compete for their cell like any program. Every
    ``reset_interval`` adds, the weaker half of the islands (by best score) is emptied and each is
    reseeded with the best program of an island drawn from the stronger half (FunSearch's policy).
    With two or more ``objectives`` each island also keeps a Pareto population (database/pareto.py)
    and parents are drawn from its front. ``log`` records migrations and resets.
    """

    def __init__(
        self,
        config: DatabaseConfig,
        reference: FeatureReference,
        *,
        objectives: Sequence[Objective] = (),
        seed: int = 0,
    ) -> None:
        self._config = config
        self._reference = reference
        self._seed = seed
        self.islands = tuple(Island() for _ in range(config.num_islands))
        self.fronts = (
            tuple(ParetoPopulation(objectives, config.pareto_size) for _ in self.islands)
            if len(objectives) >= 2
            else None
        )
        self.log = IslandLog()
        self._elites = ElitePool()  # distinct elites of all islands
        self._copies: dict[int, int] = {}  # program id -> number of islands holding it
        self._best: Program | None = None
        self._added = 0

    def __len__(self) -> int:
        """Programs added, invalid ones included."""
        return self._added

    def best(self) -> Program | None:
        """The best valid program ever added (the oldest on a tie)."""
        return self._best

    def island_sizes(self) -> list[int]:
        """Elites (occupied cells) per island."""
        return [len(island.grid) for island in self.islands]

    def cell(self, program: Program) -> Cell:
        config = self._config
        return cell_of(program.features, config.feature_dimensions, config.feature_bins, self._reference)

    def add(self, program: Program) -> AddStatus:
        """Offer a program to its island's grid (every island's, for the initial program)."""
        self._added += 1
        status = AddStatus.NOT_ADDED
        if program.is_valid:
            cell = self.cell(program)
            if program.parent_id is None:
                targets: Sequence[int] = range(len(self.islands))
            else:
                targets = (program.island % len(self.islands),)
            status = max(self._offer(index, cell, program) for index in targets)
            if self._best is None or program.score > self._best.score:
                self._best = program
                status = AddStatus.NEW_BEST
        if self._added % self._config.migration_interval == 0:
            self._migrate()
        if self._config.reset_interval and self._added % self._config.reset_interval == 0:
            self._reset_weaker_half()
        return status

    def sample(self, island: int, rng: random.Random) -> Selection:
        """Draw a parent and inspirations for a child of ``island``.

        ``top`` holds the island's best elites other than the parent; ``diverse`` holds elites drawn
        uniformly from all islands, neither the parent nor in ``top``. An island without elites
        draws from the elites of all islands. With objectives the parent comes from the island's
        front and ``top`` from its Pareto population in rank order. Raises LookupError when no valid
        program exists.
        """
        if not 0 <= island < len(self.islands):
            raise ValueError(f"island {island} does not exist (the archive has {len(self.islands)})")
        elites = self.islands[island].elites or self._elites
        if not elites:
            raise LookupError("the archive holds no valid program to draw a parent from")
        population = self.fronts[island] if self.fronts is not None else None
        if population is not None and population.front:
            parent = population.draw(rng)
            others = (p for p in population.ranked if p.id != parent.id)
            top = tuple(itertools.islice(others, self._config.num_top_inspirations))
        else:
            parent = draw_parent(elites, self._config, rng)
            top = best_others(elites, self._config.num_top_inspirations, parent)
        taken = {parent.id, *(program.id for program in top)}
        diverse = draw_distinct(self._elites, self._config.num_diverse_inspirations, taken, rng)
        return Selection(parent, top, diverse)

    def _offer(self, index: int, cell: Cell, program: Program) -> AddStatus:
        """Offer ``program`` to island ``index``: its grid, and its Pareto front if it keeps one."""
        status = self._place(self.islands[index], cell, program)
        if self.fronts is not None and self.fronts[index].offer(program):
            status = max(status, AddStatus.NEW_CELL)
        return status

    def _place(self, island: Island, cell: Cell, program: Program) -> AddStatus:
        placed, displaced = island.place(cell, program)
        if not placed:
            return AddStatus.NOT_ADDED
        if displaced is not None:
            self._release(displaced)
        copies = self._copies.get(program.id, 0)
        if copies == 0:
            self._elites.add(program)
        self._copies[program.id] = copies + 1
        return AddStatus.NEW_CELL if displaced is None else AddStatus.IMPROVED_CELL

    def _release(self, program: Program) -> None:
        """One island dropped ``program``; it leaves the global pool with its last copy."""
        copies = self._copies.pop(program.id) - 1
        if copies:
            self._copies[program.id] = copies
        else:
            self._elites.discard(program)

    def _rng(self, purpose: str) -> random.Random:
        """The draws of one migration or reset: a pure function of the seed and the adds so far."""
        return random.Random(f"evoforge:{self._seed}:{purpose}:{self._added}")

    def _migrate(self) -> None:
        count = self._config.migration_count
        islands = len(self.islands)
        if islands < 2 or count == 0:
            return
        emigrants = [tuple(itertools.islice(island.elites.ranked(), count)) for island in self.islands]
        if self._config.migration_topology == "random":
            rng = self._rng("migration")
            targets = [(source + rng.randrange(1, islands)) % islands for source in range(islands)]
        else:
            targets = [(source + 1) % islands for source in range(islands)]
        moves = []
        for source, programs in enumerate(emigrants):
            for program in programs:
                if self._offer(targets[source], self.cell(program), program) > AddStatus.NOT_ADDED:
                    moves.append((source, targets[source], program.id))
        self.log.migration(self._added, moves)

    def _reset_weaker_half(self) -> None:
        """Empty the islands whose best is in the weaker half; reseed each from a stronger island's best."""
        islands = len(self.islands)
        if islands < 2:
            return

        def strength(index: int) -> tuple[float, int]:
            best = self.islands[index].best()
            return (best.score if best is not None else -math.inf, index)

        by_strength = sorted(range(islands), key=strength)
        weak, strong = sorted(by_strength[: islands // 2]), sorted(by_strength[islands // 2 :])
        rng = self._rng("reset")
        founders = []
        for index in weak:
            for program in self.islands[index].clear():
                self._release(program)
            if self.fronts is not None:
                self.fronts[index].clear()
            donor = rng.choice(strong)
            founder = self.islands[donor].best()
            if founder is not None:
                self._offer(index, self.cell(founder), founder)
                founders.append((donor, founder.id))
        self.log.reset(self._added, weak, founders)
