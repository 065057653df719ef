"""The archive: MAP-Elites statuses, selection ratios, determinism, migration, rebuild."""

from __future__ import annotations

import math
import random
from collections import Counter

from evoforge.config import DatabaseConfig
from evoforge.database.archive import AddStatus, Archive
from evoforge.database.features import FeatureReference, bin_index, compute_features, diversity
from evoforge.records import Program

REFERENCE = FeatureReference.from_code("def solve():\n    return 1\n")


def program(
    pid: int,
    score: float,
    length: float = 30.0,
    div: float = 0.0,
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
    values: dict[str, object] = {"num_islands": 2, "migration_interval": 1000}
    values.update(changes)
    return DatabaseConfig(**values)  # type: ignore[arg-type]


def test_add_statuses() -> None:
    archive = Archive(config(), REFERENCE)
    assert archive.add(program(0, 1.0)) is AddStatus.NEW_BEST
    assert archive.add(program(1, 0.5, div=0.9)) is AddStatus.NEW_CELL
    assert archive.add(program(2, 0.7, div=0.9)) is AddStatus.IMPROVED_CELL
    assert archive.add(program(3, 0.6, div=0.9)) is AddStatus.NOT_ADDED
    assert archive.add(program(4, 2.0, div=0.5)) is AddStatus.NEW_BEST
    assert archive.add(program(5, 9.0, ok=False)) is AddStatus.NOT_ADDED
    best = archive.best()
    assert best is not None and best.id == 4
    assert len(archive) == 6


def test_initial_program_seeds_every_island_and_invalid_is_never_a_parent() -> None:
    archive = Archive(config(num_islands=3), REFERENCE)
    archive.add(program(0, 1.0))
    archive.add(program(1, 5.0, ok=False, island=1))
    assert archive.island_sizes() == [1, 1, 1]
    rng = random.Random(0)
    for island in range(3):
        for _ in range(20):
            selection = archive.sample(island, rng)
            assert selection.parent.id == 0


def test_elite_ratio_one_always_picks_the_island_best() -> None:
    archive = Archive(config(exploration_ratio=0.0, exploitation_ratio=0.0, elite_ratio=1.0), REFERENCE)
    for pid, (score, div) in enumerate([(1.0, 0.0), (3.0, 0.3), (2.0, 0.6)]):
        archive.add(program(pid, score, div=div))
    rng = random.Random(1)
    assert {archive.sample(0, rng).parent.id for _ in range(50)} == {1}


def test_exploitation_favours_better_elites() -> None:
    archive = Archive(config(exploration_ratio=0.0, exploitation_ratio=1.0, elite_ratio=0.0), REFERENCE)
    for pid in range(5):
        archive.add(program(pid, float(pid), div=pid / 5))
    rng = random.Random(2)
    counts = Counter(archive.sample(0, rng).parent.id for _ in range(2000))
    assert counts[4] > counts[0] * 2
    assert set(counts) == {0, 1, 2, 3, 4}


def test_inspirations_exclude_the_parent_and_respect_counts() -> None:
    archive = Archive(config(num_top_inspirations=2, num_diverse_inspirations=1), REFERENCE)
    for pid in range(6):
        archive.add(program(pid, float(pid), div=pid / 6))
    rng = random.Random(3)
    for _ in range(30):
        selection = archive.sample(0, rng)
        ids = [p.id for p in (*selection.top, *selection.diverse)]
        assert selection.parent.id not in ids
        assert len(selection.top) == 2 and len(selection.diverse) == 1
        assert len(set(ids)) == len(ids)


def test_same_adds_and_seed_give_the_same_samples() -> None:
    def run() -> list[tuple[int, ...]]:
        archive = Archive(config(), REFERENCE)
        for pid in range(40):
            archive.add(program(pid, math.sin(pid), length=20 + pid * 3, div=(pid % 7) / 7, island=pid % 2))
        rng = random.Random(9)
        samples = []
        for i in range(30):
            s = archive.sample(i % 2, rng)
            samples.append((s.parent.id, *(p.id for p in s.top), *(p.id for p in s.diverse)))
        return samples

    assert run() == run()


def test_ring_migration_copies_island_bests_to_the_next_island() -> None:
    archive = Archive(config(num_islands=3, migration_interval=4, migration_count=1), REFERENCE)
    archive.add(program(0, 0.0))
    archive.add(program(1, 5.0, div=0.9, island=1))
    archive.add(program(2, 1.0, div=0.5, island=2))
    assert 1 not in {p.id for p in archive.islands[2].grid.values()}
    archive.add(program(3, 0.5, div=0.3, island=0))
    assert 1 in {p.id for p in archive.islands[2].grid.values()}
    assert 2 in {p.id for p in archive.islands[0].grid.values()}


def test_rebuild_reaches_the_live_state() -> None:
    programs = [program(pid, math.cos(pid), div=(pid % 5) / 5, island=pid % 2) for pid in range(30)]
    live = Archive(config(migration_interval=7), REFERENCE)
    for p in programs:
        live.add(p)
    rebuilt = Archive(config(migration_interval=7), REFERENCE)
    rebuilt.rebuild(programs)
    assert [i.grid for i in live.islands] == [i.grid for i in rebuilt.islands]
    assert live.best() == rebuilt.best()


def test_features_are_bounded_and_code_length_bins_are_monotone() -> None:
    assert diversity("def solve():\n    return 1\n", REFERENCE) == 0.0
    far = diversity("while True: pass", REFERENCE)
    assert 0.0 < far <= 1.0
    bins = [bin_index("code_length", length, 10, REFERENCE) for length in (1, 10, 26, 60, 200, 10_000)]
    assert bins == sorted(bins) and bins[0] == 0 and bins[-1] == 9
    features = compute_features(
        "x = 1\n", {"accuracy": 0.5}, REFERENCE, ["code_length", "accuracy", "missing"]
    )
    assert features == {"code_length": 6.0, "accuracy": 0.5, "missing": 0.0}
    assert bin_index("accuracy", 0.55, 10, REFERENCE) == 5
