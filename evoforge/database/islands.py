"""One island of the archive: a MAP-Elites grid and its elites indexed for cheap selection."""

from __future__ import annotations

import bisect
import random
from collections import deque
from collections.abc import Iterator
from typing import Any

from evoforge.database.features import Cell
from evoforge.records import Program


class ElitePool:
    """A set of programs kept ready for selection, so that no draw ever scans it.

    - ``at_random``: O(1), from a list with swap-removal;
    - ``at_rank`` and ``ranked``: O(1) per program, from a list kept sorted by (-score, id);
    - ``add`` and ``discard``: O(log n) comparisons plus a memmove of at most n pointers, where n is
      bounded by the grid size (bins ** dimensions), never by the population.

    The internal order is a function of the sequence of ``add``/``discard`` calls alone, so the same
    calls and the same RNG give the same draws.
    """

    def __init__(self) -> None:
        self._members: list[Program] = []
        self._slots: dict[int, int] = {}  # program id -> index in _members
        self._ranked: list[tuple[float, int]] = []  # (-score, id): best first, older first on a tie

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, program_id: int) -> bool:
        return program_id in self._slots

    @property
    def members(self) -> tuple[Program, ...]:
        """A snapshot of the members in internal order (O(n): not for the hot path)."""
        return tuple(self._members)

    def add(self, program: Program) -> None:
        self._slots[program.id] = len(self._members)
        self._members.append(program)
        bisect.insort(self._ranked, (-program.score, program.id))

    def discard(self, program: Program) -> None:
        slot = self._slots.pop(program.id)
        last = self._members.pop()
        if slot < len(self._members):
            self._members[slot] = last
            self._slots[last.id] = slot
        del self._ranked[bisect.bisect_left(self._ranked, (-program.score, program.id))]

    def at_random(self, rng: random.Random) -> Program:
        return self._members[rng.randrange(len(self._members))]

    def at_rank(self, rank: int) -> Program:
        """The program at ``rank`` (0 is the best)."""
        return self._members[self._slots[self._ranked[rank][1]]]

    def ranked(self) -> Iterator[Program]:
        """Members from best to worst, lazily: taking the first k costs O(k)."""
        return (self._members[self._slots[program_id]] for _, program_id in self._ranked)


class Island:
    """A MAP-Elites grid: the best program found so far in each cell, and those elites as a pool."""

    def __init__(self) -> None:
        self.grid: dict[Cell, Program] = {}
        self.elites = ElitePool()

    def best(self) -> Program | None:
        return self.elites.at_rank(0) if self.elites else None

    def clear(self) -> tuple[Program, ...]:
        """Empty the grid (an island reset); return the elites it held."""
        dropped = self.elites.members
        self.grid = {}
        self.elites = ElitePool()
        return dropped

    def place(self, cell: Cell, program: Program) -> tuple[bool, Program | None]:
        """Make ``program`` the elite of ``cell`` if it beats the incumbent (a tie keeps the incumbent).

        Returns whether it was placed and the elite it displaced.
        """
        incumbent = self.grid.get(cell)
        if incumbent is not None and program.score <= incumbent.score:
            return False, None
        if incumbent is not None:
            self.elites.discard(incumbent)
        self.grid[cell] = program
        self.elites.add(program)
        return True, incumbent


class IslandLog:
    """What migrations and resets did, for the dashboard: counts and the latest events.

    Kept in the store's state table under ``STATE_KEY`` (docs/search.md, "Island management"). Each
    event names the number of programs the archive had been offered when it happened (``at``), which
    makes it a pure function of the run: a resume rebuilds the same log.
    """

    STATE_KEY = "islands"
    KEPT = 100

    def __init__(self) -> None:
        self.migrations = 0
        self.resets = 0
        self.revision = 0  # changes with every event, so a writer knows when to save
        self._events: deque[dict[str, Any]] = deque(maxlen=self.KEPT)

    def migration(self, at: int, moves: list[tuple[int, int, int]]) -> None:
        """Programs that moved, as (from island, to island, program id); only those that took a cell."""
        self.migrations += 1
        self._record({"kind": "migration", "at": at, "moves": [list(move) for move in moves]})

    def reset(self, at: int, islands: list[int], founders: list[tuple[int, int]]) -> None:
        """Islands emptied, and each one's founder as (island it came from, program id)."""
        self.resets += 1
        self._record({"kind": "reset", "at": at, "islands": islands, "founders": [list(f) for f in founders]})

    def _record(self, event: dict[str, Any]) -> None:
        self._events.append(event)
        self.revision += 1

    def as_state(self) -> dict[str, Any]:
        return {"migrations": self.migrations, "resets": self.resets, "events": list(self._events)}
