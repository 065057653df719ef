"""Island management: the random migration topology, resets of the weaker half, and their log in the store."""

from __future__ import annotations

import random
from pathlib import Path

import evoforge
from evoforge.database.archive import Archive
from evoforge.database.islands import IslandLog
from evoforge.storage import SQLiteStore
from evoforge.testing.programs import TOY
from tests.test_archive import REFERENCE, config, ids, program


def migrations(topology: str, seed: int) -> list[list[list[int]]]:
    """The moves of 30 migrations among 4 islands, each island holding programs of its own."""
    archive = Archive(
        config(num_islands=4, migration_interval=4, migration_count=1, migration_topology=topology),
        REFERENCE,
        seed=seed,
    )
    archive.add(program(0, 0.0))
    rng = random.Random(1)
    for pid in range(1, 121):  # ever better programs, so every migrant takes a cell where it lands
        archive.add(program(pid, float(pid), div=rng.random(), island=pid % 4))
    events = archive.log.as_state()["events"]
    assert archive.log.migrations == 30 and all(event["kind"] == "migration" for event in events)
    return [event["moves"] for event in events]


def test_random_topology_sends_to_other_islands_drawn_from_the_seed() -> None:
    ring = migrations("ring", seed=0)
    assert {(source, target) for moves in ring for source, target, _ in moves} == {
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 0),
    }
    drawn = migrations("random", seed=0)
    pairs = {(source, target) for moves in drawn for source, target, _ in moves}
    assert all(source != target for source, target in pairs)
    assert len(pairs) == 12  # every ordered pair of 4 islands, not only the ring's 4
    assert drawn == migrations("random", seed=0)  # reproducible
    assert drawn != migrations("random", seed=1)  # and a function of the run's seed


def test_a_reset_empties_the_weaker_half_and_reseeds_it_from_a_stronger_best() -> None:
    archive = Archive(config(num_islands=4, reset_interval=10), REFERENCE, seed=3)
    archive.add(program(0, 0.0))
    scores = {1: 5.0, 2: 1.0, 3: 7.0, 0: 2.0}  # island -> score of its best; islands 2 and 0 are weaker
    pid = 0
    for island, best in scores.items():
        for offset in (0.5, 0.0):  # two programs in different cells per island, the best second
            pid += 1
            archive.add(program(pid, best - offset, div=0.3 + offset, island=island))
    assert archive.island_sizes() == [3, 3, 3, 3] and archive.log.resets == 0
    archive.add(program(9, -1.0, ok=False))  # the tenth add resets
    assert archive.log.resets == 1
    event = archive.log.as_state()["events"][-1]
    assert event["kind"] == "reset" and event["islands"] == [0, 2]
    strong_bests = {1: archive.islands[1].best(), 3: archive.islands[3].best()}
    for weak, (donor, founder) in zip((0, 2), event["founders"], strict=True):
        assert donor in strong_bests and founder == strong_bests[donor].id
        assert ids(tuple(archive.islands[weak].grid.values())) == [founder]
    assert archive.island_sizes()[1] == archive.island_sizes()[3] == 3  # the stronger half is untouched
    drawn = {archive.sample(0, random.Random(n)).parent.id for n in range(20)}
    assert drawn == {event["founders"][0][1]}  # the reset island now breeds from its founder only


def test_without_reset_interval_nothing_is_reset() -> None:
    archive = Archive(config(num_islands=4), REFERENCE)
    for pid in range(200):
        archive.add(program(pid, float(pid % 7), div=(pid % 10) / 10, island=pid % 4))
    assert archive.log.resets == 0 and archive.island_sizes()[0] > 1


def test_a_run_stores_its_migrations_and_resets(tmp_path: Path) -> None:
    evoforge.evolve(
        TOY, run_dir=tmp_path / "run", iterations=40, seed=2, target_score=None, mutators={"gp": 1.0},
        evaluation__parallel=2, database__num_islands=4, database__migration_interval=5,
        database__migration_topology="random", database__reset_interval=12,
    )  # fmt: skip
    with SQLiteStore.open(tmp_path / "run", readonly=True) as store:
        log = store.get_state(IslandLog.STATE_KEY)
    assert log["migrations"] >= 5 and log["resets"] >= 2  # the last window of programs is never applied
    kinds = [event["kind"] for event in log["events"]]
    assert "reset" in kinds and "migration" in kinds
    assert [event["at"] for event in log["events"]] == sorted(event["at"] for event in log["events"])
