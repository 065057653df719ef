"""The archive: MAP-Elites statuses, selection ratios, determinism, migration (its rebuild on resume:
tests/test_replay.py)."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from evoforge.config import DatabaseConfig
from evoforge.database.archive import AddStatus, Archive
from evoforge.database.features import FeatureReference
from evoforge.database.islands import ElitePool
from evoforge.database.selection import draw_rank
from evoforge.records import Program

REFERENCE = FeatureReference.from_code("def solve():\n    return 1\n")  # 26 characters


def program(
    pid: int,
    score: float,
    *,
    div: float = 0.0,
    length: float = 26.0,
    island: int = 0,
    ok: bool = True,
    parent: int | None = 0,
) -> Program:
    return Program(
        id=pid,
        submission=pid,
        code=f"# {pid}\n",
        parent_id=None if pid == 0 else parent,
        inspiration_ids=(),
        island=island,
        generation=1,
        mutator="llm",
        metrics={"combined_score": score},
        artifacts={},
        score=score if ok else -math.inf,
        ok=ok,
        features={"code_length": length, "diversity": div},
        created_at=0.0,
        eval_time_s=0.0,
    )


def config(**changes: object) -> DatabaseConfig:
    values: dict[str, object] = {"num_islands": 2, "migration_interval": 10_000}
    values.update(changes)
    return DatabaseConfig.model_validate(values)


def ids(programs: tuple[Program, ...]) -> list[int]:
    return [p.id for p in programs]


def random_programs(count: int, islands: int, seed: int) -> list[Program]:
    rng = random.Random(seed)
    programs = [program(0, 0.0)]
    for pid in range(1, count):
        programs.append(
            program(pid, rng.gauss(0, 1), div=rng.random(), length=rng.uniform(5, 120),
                    island=rng.randrange(islands), ok=rng.random() > 0.2)
        )  # fmt: skip
    return programs


def samples(archive: Archive, seed: int, count: int) -> list[tuple[int, ...]]:
    rng = random.Random(seed)
    drawn = []
    for i in range(count):
        s = archive.sample(i % len(archive.islands), rng)
        drawn.append((s.parent.id, *ids(s.top), -1, *ids(s.diverse)))
    return drawn


def test_add_statuses() -> None:
    archive = Archive(config(), REFERENCE)
    assert archive.add(program(0, 1.0)) is AddStatus.NEW_BEST
    assert archive.add(program(1, 0.5, div=0.9)) is AddStatus.NEW_CELL
    assert archive.add(program(2, 0.7, div=0.9)) is AddStatus.IMPROVED_CELL
    assert archive.add(program(3, 0.7, div=0.9)) is AddStatus.NOT_ADDED  # a tie keeps the incumbent
    assert archive.add(program(4, 0.6, div=0.9)) is AddStatus.NOT_ADDED
    assert archive.add(program(5, 2.0, div=0.5)) is AddStatus.NEW_BEST
    assert archive.add(program(6, 9.0, ok=False)) is AddStatus.NOT_ADDED
    assert archive.add(program(7, 3.0, island=1)) is AddStatus.NEW_BEST
    assert archive.add(program(8, 2.5, div=0.9, island=1)) is AddStatus.NEW_CELL
    best = archive.best()
    assert best is not None and best.id == 7
    assert len(archive) == 9
    assert archive.island_sizes() == [3, 2]
    assert archive.islands[0].grid[archive.cell(program(2, 0.0, div=0.9))].id == 2


def test_initial_program_seeds_every_island_and_invalid_programs_are_never_drawn() -> None:
    archive = Archive(config(num_islands=3, num_diverse_inspirations=3), REFERENCE)
    archive.add(program(0, 1.0))
    archive.add(program(1, 5.0, ok=False, island=1))
    archive.add(program(2, math.inf, ok=False, div=0.5, island=2))
    assert archive.island_sizes() == [1, 1, 1]
    rng = random.Random(0)
    for island in range(3):
        for _ in range(20):
            selection = archive.sample(island, rng)
            assert selection.parent.id == 0 and selection.top == () and selection.diverse == ()


def test_an_empty_island_draws_from_all_islands_and_an_empty_archive_refuses() -> None:
    archive = Archive(config(num_islands=3), REFERENCE)
    with pytest.raises(LookupError, match="no valid program"):
        archive.sample(0, random.Random(0))
    archive.add(program(0, 1.0, ok=False))
    archive.add(program(1, 2.0, island=2))
    assert archive.sample(0, random.Random(0)).parent.id == 1
    with pytest.raises(ValueError, match="island 3 does not exist"):
        archive.sample(3, random.Random(0))


def test_elite_ratio_one_always_picks_the_island_best() -> None:
    archive = Archive(config(exploration_ratio=0.0, exploitation_ratio=0.0, elite_ratio=1.0), REFERENCE)
    for pid, (score, div) in enumerate([(1.0, 0.0), (3.0, 0.3), (2.0, 0.6), (9.0, 0.9)]):
        archive.add(program(pid, score, div=div, island=1 if pid == 3 else 0))
    rng = random.Random(1)
    assert {archive.sample(0, rng).parent.id for _ in range(50)} == {1}
    assert {archive.sample(1, rng).parent.id for _ in range(50)} == {3}


def test_exploration_is_uniform_and_exploitation_follows_rank() -> None:
    def counts(**ratios: float) -> Counter[int]:
        archive = Archive(config(num_islands=1, **ratios), REFERENCE)
        for pid in range(4):
            archive.add(program(pid, float(pid), div=pid / 4))
        rng = random.Random(2)
        return Counter(archive.sample(0, rng).parent.id for _ in range(8000))

    uniform = counts(exploration_ratio=1.0, exploitation_ratio=0.0, elite_ratio=0.0)
    assert all(1800 < uniform[pid] < 2200 for pid in range(4))
    ranked = counts(exploration_ratio=0.0, exploitation_ratio=1.0, elite_ratio=0.0)
    harmonic = 1 + 1 / 2 + 1 / 3 + 1 / 4  # the best (id 3) has rank 0, weight 1
    for rank, pid in enumerate([3, 2, 1, 0]):
        assert ranked[pid] / 8000 == pytest.approx(1 / (rank + 1) / harmonic, abs=0.02)


def test_default_ratios_are_respected() -> None:
    archive = Archive(config(num_islands=1), REFERENCE)  # 0.2 exploration, 0.7 exploitation, 0.1 elite
    for pid in range(10):
        archive.add(program(pid, float(pid), div=pid / 10))
    rng = random.Random(3)
    best_share = sum(archive.sample(0, rng).parent.id == 9 for _ in range(10_000)) / 10_000
    harmonic = sum(1 / (rank + 1) for rank in range(10))
    assert best_share == pytest.approx(0.2 / 10 + 0.7 / harmonic + 0.1, abs=0.02)


def test_draw_rank_stays_in_range_for_every_size() -> None:
    rng = random.Random(4)
    for n in (1, 2, 3, 50, 5000):
        assert all(0 <= draw_rank(n, rng) < n for _ in range(200))


def test_inspirations_are_the_best_others_and_distinct_diverse_elites() -> None:
    archive = Archive(config(num_top_inspirations=2, num_diverse_inspirations=3), REFERENCE)
    for pid in range(12):
        archive.add(program(pid, float(pid), div=pid / 12, island=pid % 2))
    rng = random.Random(5)
    diverse_islands = set()
    for island in (0, 1):
        ranked = sorted(archive.islands[island].grid.values(), key=lambda p: -p.score)
        for _ in range(40):
            selection = archive.sample(island, rng)
            others = [p for p in ranked if p.id != selection.parent.id]
            assert ids(selection.top) == ids(tuple(others[:2]))
            chosen = [selection.parent.id, *ids(selection.top), *ids(selection.diverse)]
            assert len(selection.diverse) == 3 and len(set(chosen)) == len(chosen)
            diverse_islands.update(p.island for p in selection.diverse)
    assert diverse_islands == {0, 1}


def test_same_adds_and_seed_give_the_same_samples() -> None:
    programs = random_programs(300, islands=3, seed=6)

    def run() -> list[tuple[int, ...]]:
        archive = Archive(config(num_islands=3, migration_interval=25, migration_count=2), REFERENCE)
        drawn = []
        for p in programs:
            archive.add(p)
            drawn.extend(samples(archive, seed=p.id, count=2))
        return drawn

    first = run()
    assert first == run()
    assert len(set(first)) > 100  # the draws do vary


def test_grids_hold_the_best_program_offered_to_each_cell() -> None:
    programs = random_programs(2000, islands=3, seed=7)
    archive = Archive(config(num_islands=3), REFERENCE)
    expected: list[dict[tuple[int, ...], Program]] = [{}, {}, {}]
    for p in programs:
        archive.add(p)
        if not p.is_valid:
            continue
        for island in range(3) if p.parent_id is None else [p.island]:
            cell = archive.cell(p)
            if cell not in expected[island] or p.score > expected[island][cell].score:
                expected[island][cell] = p
    assert [island.grid for island in archive.islands] == expected
    assert archive.best() == max((p for p in programs if p.is_valid), key=lambda p: p.score)


def test_ring_migration_copies_island_bests_to_the_next_island() -> None:
    archive = Archive(config(num_islands=3, migration_interval=4, migration_count=1), REFERENCE)
    archive.add(program(0, 0.0))
    archive.add(program(1, 5.0, div=0.9, island=1))
    archive.add(program(2, 1.0, div=0.5, island=2))
    assert ids(tuple(archive.islands[2].grid.values())) == [0, 2]
    archive.add(program(3, 0.5, div=0.3, island=0))  # the fourth add migrates
    assert sorted(ids(tuple(archive.islands[2].grid.values()))) == [0, 1, 2]
    assert sorted(ids(tuple(archive.islands[0].grid.values()))) == [0, 2, 3]
    assert sorted(ids(tuple(archive.islands[1].grid.values()))) == [0, 1, 3]
    assert archive.islands[2].grid[archive.cell(program(1, 0.0, div=0.9))] is archive.islands[1].best()


def test_elite_pool_keeps_its_indexes_consistent() -> None:
    rng = random.Random(10)
    pool, present = ElitePool(), {}
    for step in range(3000):
        if present and rng.random() < 0.45:
            gone = present.pop(rng.choice(sorted(present)))
            pool.discard(gone)
        else:
            p = program(step + 1, float(rng.randrange(50)))
            pool.add(p)
            present[p.id] = p
        if step % 100 == 0:
            expected = sorted(present.values(), key=lambda p: (-p.score, p.id))
            assert list(pool.ranked()) == expected
            assert sorted(ids(pool.members)) == sorted(present)
            assert all(pool.at_rank(r) is p for r, p in enumerate(expected))
            assert all(pid in pool for pid in present) and -1 not in pool
