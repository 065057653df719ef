"""Several objectives: sorting and crowding, an island's Pareto population, parents from its front, the
front in `status`/`best`, and a seeded single-objective run left as it was."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

import evoforge
from evoforge.database.archive import Archive
from evoforge.database.pareto import (
    ParetoPopulation,
    crowding_distances,
    dominates,
    non_dominated_sort,
    pareto_front,
)
from evoforge.database.settings import Objective
from evoforge.records import Program
from evoforge.testing.programs import program_table
from evoforge.testing.tasks import evoforge_cli, write_task
from tests.test_archive import REFERENCE, config

TWO = (Objective(metric="speed", direction="max"), Objective(metric="size", direction="min"))

# solve() returns x; one objective wants x near 1, the other near 3: every x in [1, 3] is a trade-off.
TRADE_OFF_EVALUATOR = """import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = float(module.solve())
    near_one, near_three = -((x - 1.0) ** 2), -((x - 3.0) ** 2)
    return {"combined_score": near_one + near_three, "near_one": near_one, "far_from_three": -near_three}
"""
TRADE_OFF_CONFIG = """evaluation:
  timeout_s: 20
  parallel: 2
mutators: {tune: 1.0, gp: 1.0}
objectives:
  - {metric: near_one, direction: max}
  - {metric: far_from_three, direction: min}
"""


def scored(pid: int, speed: float, size: float, island: int = 0) -> Program:
    return Program(
        id=pid, submission=pid, code=f"# {pid}\n", parent_id=None if pid == 0 else 0, inspiration_ids=(),
        island=island, generation=1, mutator="gp", metrics={"speed": speed, "size": size}, artifacts={},
        score=speed - size, ok=True, features={"code_length": 26.0, "diversity": 0.0}, created_at=0.0,
        eval_time_s=0.0,
    )  # fmt: skip


def test_sorting_fronts_and_crowding() -> None:
    vectors = [(1.0, 5.0), (2.0, 4.0), (3.0, 1.0), (1.0, 1.0), (0.5, 0.5), (2.0, 4.0)]
    assert dominates((2.0, 4.0), (1.0, 1.0)) and not dominates((2.0, 4.0), (2.0, 4.0))
    assert non_dominated_sort(vectors) == [[0, 1, 2, 5], [3], [4]]
    crowding = crowding_distances(vectors, [0, 1, 2, 5])
    assert crowding[0] == crowding[2] == math.inf  # the extremes of each objective
    # speed neighbours span (3 - 1) / 2 for both; size neighbours span 3 / 4 for 1 and 1 / 4 for 5
    assert crowding[1] == pytest.approx(1.25) and crowding[5] == pytest.approx(0.75)


def test_a_population_keeps_whole_fronts_then_the_most_isolated() -> None:
    population = ParetoPopulation(TWO, capacity=4)
    # size is minimised: (speed, size) = (s, s) trades speed for size along the diagonal
    for pid, (speed, size) in enumerate([(1, 1), (2, 2), (3, 3), (4, 4), (2.1, 2), (0.5, 3)]):
        population.offer(scored(pid, speed, size))
    assert {p.id for p in population.front} == {0, 2, 3, 4}  # 1 is dominated by 4, 5 by 0
    assert len(population.ranked) == 4
    population.offer(scored(6, 2.5, 2.4))  # a fifth trade-off: one front member must go
    front = {p.id for p in population.front}
    assert len(front) == 4 and {0, 3} <= front  # the extremes always stay
    assert not population.offer(scored(7, 0.1, 9.0))  # dominated by all: not on the front
    crowded = ParetoPopulation(TWO, capacity=3)
    for pid, (speed, size) in enumerate([(1, 1), (2.0, 2.0), (2.1, 2.1), (4, 4)]):
        crowded.offer(scored(pid, speed, size))
    assert {p.id for p in crowded.front} == {0, 2, 3}  # 1 sits closest to its neighbours: it goes
    assert not population.offer(scored(8, math.inf, 1.0)) and 8 not in population


def test_an_archive_with_two_objectives_draws_parents_from_its_front() -> None:
    archive = Archive(config(num_islands=2), REFERENCE, objectives=TWO)
    rng = random.Random(0)
    programs = [scored(0, 0.0, 0.0)] + [
        scored(pid, rng.uniform(0, 10), rng.uniform(0, 10), island=pid % 2) for pid in range(1, 300)
    ]
    for program in programs:
        archive.add(program)
    assert archive.fronts is not None
    for island in (0, 1):
        mine = [p for p in programs if p.island == island or p.id == 0]
        expected = {p.id for p in pareto_front(mine, TWO)}
        front = {p.id for p in archive.fronts[island].front}
        assert len(front) > 1 and front <= expected  # the true front, cut to pareto_size at most
        parents = {archive.sample(island, rng).parent.id for _ in range(200)}
        assert parents <= front and len(parents) > 1


def test_one_objective_or_none_keeps_the_single_score_archive() -> None:
    assert Archive(config(), REFERENCE, objectives=TWO[:1]).fronts is None
    assert Archive(config(), REFERENCE).fronts is None


def test_a_two_objective_run_shows_its_front(tmp_path: Path) -> None:
    task = write_task(tmp_path, TRADE_OFF_CONFIG, evaluator=TRADE_OFF_EVALUATOR)
    run_dir = tmp_path / "run"
    evoforge.evolve(task, run_dir=run_dir, iterations=40, seed=4)
    status = json.loads(evoforge_cli("status", str(run_dir), "--json").stdout)
    front = status["pareto_front"]
    assert len(front) > 1
    values = sorted(entry["objectives"]["near_one"] for entry in front)
    assert values[0] < values[-1]  # a real trade-off, not copies of one point
    with evoforge.load_run(run_dir) as run:
        programs = run.programs()
    objectives = [Objective(metric="near_one"), Objective(metric="far_from_three", direction="min")]
    assert [entry["id"] for entry in front] == [p.id for p in pareto_front(programs, objectives)]
    text = evoforge_cli("status", str(run_dir)).stdout
    assert f"Pareto front: {len(front)} programs" in text
    listed = evoforge_cli("best", str(run_dir), "--front")
    assert listed.returncode == 0 and listed.stdout.count("  program ") == len(front)


def test_best_front_without_objectives_is_one_clear_line(tmp_path: Path) -> None:
    task = write_task(tmp_path, "mutators: {gp: 1.0}\nevaluation: {parallel: 1}\n")
    evoforge.evolve(task, run_dir=tmp_path / "run", iterations=2)
    result = evoforge_cli("best", str(tmp_path / "run"), "--front")
    assert result.returncode == 2 and result.stderr.strip().endswith("so no Pareto front")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "pareto_front" not in json.loads(evoforge_cli("status", str(tmp_path / "run"), "--json").stdout)


def test_an_objective_the_evaluator_lacks_is_a_config_error(tmp_path: Path) -> None:
    task = write_task(tmp_path, "objectives: [{metric: value}, {metric: speed}]\n")
    result = evoforge_cli("run", str(task), "--run-dir", str(tmp_path / "run"), "--iterations", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("evoforge: objectives: 'speed' is not a finite")


@pytest.mark.parametrize("objectives", [[{"metric": "value", "direction": "min"}]])
def test_a_seeded_single_objective_run_is_unchanged(tmp_path: Path, objectives: list[dict[str, str]]) -> None:
    tables = []
    for name, given in (("none", []), ("one", objectives)):
        evoforge.evolve(
            write_task(tmp_path, name=name), run_dir=tmp_path / f"run-{name}", iterations=30, seed=9,
            mutators={"tune": 1.0, "gp": 1.0}, evaluation__parallel=2, objectives=given,
        )  # fmt: skip
        tables.append(program_table(tmp_path / f"run-{name}"))
    assert tables[0] == tables[1]
