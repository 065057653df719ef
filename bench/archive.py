"""CPU cost of the archive's issue-12 mechanisms, in the controller's process, per program.

- ``add``: ``Archive.add`` of random programs (4 islands, 10 x 10 grid) with a single score, with two
  objectives (each island's Pareto population re-sorted, ``pareto_size`` 32), and with resets and the
  random topology on (every 20 and 50 adds);
- ``novelty``: one lexical verdict (``Novelty.verdict``) for a child against an island of 50 elites
  whose embeddings are cached, as in a run; and the cold case, every elite embedded anew.

Times are CPU seconds of this process (``time.process_time``), steadier than wall time on a shared
machine. ``--record`` appends the table to bench/RESULTS.md.

    python bench/archive.py [--programs 20000] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Callable

from evoforge.database.archive import Archive
from evoforge.database.features import FeatureReference
from evoforge.database.novelty import Novelty, NoveltyPolicy
from evoforge.database.settings import DatabaseConfig, NoveltyConfig, Objective
from evoforge.records import Program

CODE = (
    "def solve(values):\n    total = 0.0\n    for v in values:\n        total += v * {a} - {b}\n"
    "    return total\n"
)
BLOCK = "# EVOLVE-BLOCK-START\n{}# EVOLVE-BLOCK-END\n"
OBJECTIVES = (Objective(metric="speed"), Objective(metric="size", direction="min"))


def programs(count: int, seed: int = 0) -> list[Program]:
    rng = random.Random(seed)
    made = []
    for pid in range(count):
        speed, size = rng.uniform(0, 10), rng.uniform(0, 10)
        made.append(
            Program(
                id=pid, submission=pid, code=BLOCK.format(CODE.format(a=pid % 97, b=pid % 13)),
                parent_id=None if pid == 0 else 0, inspiration_ids=(), island=pid % 4, generation=1,
                mutator="gp", metrics={"speed": speed, "size": size}, artifacts={}, score=speed - size,
                ok=True, features={"code_length": rng.uniform(20, 400), "diversity": rng.random()},
                created_at=0.0, eval_time_s=0.0,
            )
        )  # fmt: skip
    return made


def cpu_us_per(count: int, work: Callable[[], None]) -> float:
    started = time.process_time()
    work()
    return (time.process_time() - started) / count * 1e6


def add_cost(made: list[Program], objectives: tuple[Objective, ...], **database: object) -> float:
    config = DatabaseConfig.model_validate({"num_islands": 4, **database})
    archive = Archive(config, FeatureReference.from_code(made[0].code), objectives=objectives, seed=1)
    return cpu_us_per(len(made), lambda: [archive.add(p) for p in made] and None)


def novelty_cost(made: list[Program], verdicts: int, cached: bool) -> float:
    members = tuple(made[:50])
    child = made[50].code

    async def measure() -> float:
        novelty = Novelty(NoveltyConfig(enabled=True), NoveltyPolicy(3, True, 1))
        await novelty.verdict(child, members)  # fills the cache
        started = time.process_time()
        for _ in range(verdicts):
            if not cached:
                novelty = Novelty(NoveltyConfig(enabled=True), NoveltyPolicy(3, True, 1))
            await novelty.verdict(child, members)
        return (time.process_time() - started) / verdicts * 1e6

    return asyncio.run(measure())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, default=20_000)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    made = programs(args.programs)
    rows = [
        ("`add`, single score", add_cost(made, ())),
        ("`add`, two objectives (pareto_size 32)", add_cost(made, OBJECTIVES)),
        ("`add`, resets every 50, random migration every 20", add_cost(
            made, (), reset_interval=50, migration_topology="random")),
        ("novelty verdict, 50 elites cached (lexical)", novelty_cost(made, 2000, cached=True)),
        ("novelty verdict, 50 elites embedded anew (lexical)", novelty_cost(made, 200, cached=False)),
    ]  # fmt: skip
    table = "| operation | CPU µs per call |\n| --- | --- |\n" + "\n".join(
        f"| {name} | {value:.1f} |" for name, value in rows
    )
    print(table)
    if args.record:
        from results import record

        record(f"archive.py, {args.programs} programs", table)


if __name__ == "__main__":
    main()
