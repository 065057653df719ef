"""tune: CMA-ES over the literals of a program, driven through the ask/tell protocol."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import math
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import evoforge
from evoforge.api import resume
from evoforge.config import TuneConfig
from evoforge.mutators import cma_state
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.mutators.cma_state import Optimizer
from evoforge.mutators.literals import find_literals
from evoforge.mutators.tune import STATE_VERSION, TuneMutator
from evoforge.records import Program
from evoforge.replay import submission_rng
from evoforge.storage import DB_FILENAME, SQLiteStore
from evoforge.testing.programs import TOY, program, program_table
from evoforge.testing.tasks import evoforge_cli

TWO = "# EVOLVE-BLOCK-START\ndef solve():\n    n = 10\n    x = 2.5\n    return n * x\n# EVOLVE-BLOCK-END\n"


def score(code: str) -> float:
    return -((find_literals(code)[0].value - 3.7) ** 2)


def drive(tune: TuneMutator, parent: Program, submissions: range, results: dict[int, str], lag: int) -> None:
    """Ask as the controller does: submission s is asked once the outcomes older than ``lag`` are told."""
    for s in submissions:
        if s - lag in results:
            code = results[s - lag]
            tune.tell(Feedback(s - lag, program(code, s - lag, score(code))))
        proposal = tune.ask(ProposalRequest(s, parent, (), (), (), submission_rng(0, s)))
        assert proposal.code is not None
        results[s] = proposal.code


def test_a_restored_state_continues_the_same_trajectory() -> None:
    base = program(TOY.joinpath("initial_program.py").read_text(), 0, -7.29)
    straight: dict[int, str] = {}
    drive(TuneMutator(TuneConfig(), seed=1), base, range(1, 90), straight, lag=3)
    interrupted: dict[int, str] = {}
    first = TuneMutator(TuneConfig(), seed=1)
    drive(first, base, range(1, 40), interrupted, lag=3)
    state = json.loads(json.dumps(first.state()))
    assert (
        state["run"]["index"] == 1 and state["run"]["cma"]["generation"] >= 2 and state["pending"]
    )  # in the middle of a run, children in flight
    second = TuneMutator(TuneConfig(), seed=1)
    second.restore(state)
    drive(second, base, range(40, 90), interrupted, lag=3)
    assert interrupted == straight
    assert max(score(code) for code in straight.values()) > -1e-3


def test_a_lost_child_is_asked_again_with_the_same_point() -> None:
    tune = TuneMutator(TuneConfig(), seed=0)
    base = program(TWO, 0, 25.0)
    first = tune.ask(ProposalRequest(1, base, (), (), (), submission_rng(0, 1))).code
    tune.tell(Feedback(1, None, failure="lost"))
    again = tune.ask(ProposalRequest(2, base, (), (), (), submission_rng(0, 2))).code
    assert again == first and first != TWO


def literal_texts(code: str) -> list[str]:
    return [code[lit.start : lit.end] for lit in find_literals(code)]


def test_ints_stay_ints_unless_configured() -> None:
    base = program(TWO, 0, 25.0)
    for integers, check in (
        ("round", lambda texts: len(texts) == 2 and texts[0].lstrip("-").isdigit()),
        ("float", lambda texts: len(texts) == 2 and "." in texts[0]),
        ("skip", lambda texts: texts[0] == "10" and "." in texts[1]),
    ):
        tune = TuneMutator(TuneConfig(integers=integers), seed=0)
        for s in range(1, 6):
            code = tune.ask(ProposalRequest(s, base, (), (), (), submission_rng(0, s))).code
            assert code is not None and check(literal_texts(code)), (integers, code)


def test_a_program_without_literals_fails_the_generation() -> None:
    code = "# EVOLVE-BLOCK-START\ndef solve():\n    return abs\n# EVOLVE-BLOCK-END\n"
    proposal = TuneMutator(TuneConfig(), seed=0).ask(
        ProposalRequest(1, program(code, 0, 0.0), (), (), (), submission_rng(0, 1))
    )
    assert proposal.code is None and proposal.failure_kind == "no_edit"


def test_tune_alone_reaches_the_optimum_of_toy_constant(tmp_path: Path) -> None:
    result = evoforge.evolve(
        TOY, run_dir=tmp_path / "run", iterations=200, mutators={"tune": 1.0}, llm__max_inflight=2,
        evaluation__parallel=2,
    )  # fmt: skip
    assert result.best_score >= -1e-6
    assert result.evaluated <= 200
    with evoforge.load_run(tmp_path / "run") as run:
        assert {p.mutator for p in run.programs()} == {"initial", "tune"}


def test_resume_in_the_middle_of_a_tune_run_continues_the_same_trajectory(tmp_path: Path) -> None:
    settings = dict(
        mutators={"tune": 1.0}, target_score=None, seed=4, llm__max_inflight=2, evaluation__parallel=2
    )
    evoforge.evolve(TOY, run_dir=tmp_path / "straight", iterations=60, **settings)
    evoforge.evolve(TOY, run_dir=tmp_path / "stopped", iterations=25, **settings)
    with SQLiteStore.open(tmp_path / "stopped", readonly=True) as store:
        state = store.get_state("mutator")["tune"]
    assert state["run"]["index"] == 1 and state["run"]["cma"]["generation"] >= 2 and state["pending"]
    resume(tmp_path / "stopped", iterations=60)
    assert program_table(tmp_path / "stopped") == program_table(tmp_path / "straight")


def new_optimizer(separable: bool) -> Optimizer:
    """An optimizer as tune builds one, for three literals."""
    return cma_state.new_optimizer(3, 0.5, np.tile([-10.0, 10.0], (3, 1)), 6, separable)


def optimizer_after(generations: int, asked: bool, separable: bool) -> Optimizer:
    """``new_optimizer()`` told ``generations`` generations of a quadratic; ``asked``: then asked once
    more, which caches the eigen-decomposition (tune saves its state right after asks)."""
    cma = new_optimizer(separable)
    for _ in range(generations):
        points = [cma.ask() for _ in range(cma.population_size)]
        cma.tell([(x, float(np.sum((x - 1.5) ** 2))) for x in points])
    if asked:
        cma.ask()
    return cma


@pytest.mark.parametrize("separable", [False, True])
@pytest.mark.parametrize(("generations", "asked"), [(0, False), (3, True), (30, True), (30, False)])
def test_a_rebuilt_optimizer_equals_the_saved_one_attribute_by_attribute(
    generations: int, asked: bool, separable: bool
) -> None:
    """All of cmaes's attributes, not only those tune reads: a cmaes release that adds state fails here."""
    saved = optimizer_after(generations, asked, separable)
    state = json.loads(json.dumps(cma_state.cma_state(saved), allow_nan=False))
    rebuilt = cma_state.restore_cma(new_optimizer(separable), state)
    assert vars(rebuilt).keys() == vars(saved).keys()
    for name, value in vars(saved).items():
        if name == "_rng":
            continue
        if isinstance(value, np.ndarray):
            assert np.array_equal(getattr(rebuilt, name), value, equal_nan=True), name
        else:
            assert getattr(rebuilt, name) == value, name
    for cma in (saved, rebuilt):
        cma.reseed_rng(7)
    for _ in range(5):
        points = [(saved.ask(), rebuilt.ask()) for _ in range(saved.population_size)]
        assert all(np.array_equal(a, b) for a, b in points)
        for cma, index in ((saved, 0), (rebuilt, 1)):
            cma.tell([(pair[index], float(np.sum(pair[index] ** 2))) for pair in points])


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def test_the_saved_state_is_versioned_plain_json() -> None:
    """Strict JSON; arrays are float64 data in base64 (quick to write after every ask), never a pickle."""
    tune = TuneMutator(TuneConfig(), seed=1)
    base = program(TWO, 0, 25.0)
    drive(tune, base, range(1, 40), {}, lag=3)
    state = json.loads(json.dumps(tune.state(), allow_nan=False))  # strict JSON: no NaN, no infinity
    assert state["version"] == STATE_VERSION
    optimizer = state["run"]["cma"]
    assert optimizer["generation"] >= 2
    assert {type(leaf) for leaf in leaves(optimizer)} <= {int, float, str, type(None)}
    covariance = cma_state.unpack(optimizer["covariance"], (2, 2))
    assert np.array_equal(covariance, tune._run.cma._C) and cma_state.unpack(optimizer["mean"]).shape == (2,)
    with pytest.raises(ValueError):
        cma_state.unpack(optimizer["covariance"], (3, 3))
    assert all(len(cma_state.unpack(z)) == 2 for z in state["run"]["slots"].values())
    assert "known" not in state["run"]  # rebuilt from the programs a resume tells again


def saved_tune_state(run_dir: Path, change: Any) -> None:
    """Rewrite the tune part of a stopped run's saved mutator state with ``change(tune_state)``."""
    db = sqlite3.connect(run_dir / DB_FILENAME)
    (text,) = db.execute("SELECT value FROM state WHERE key = 'mutator'").fetchone()
    state = json.loads(text)
    change(state["tune"])
    db.execute("UPDATE state SET value = ? WHERE key = 'mutator'", (json.dumps(state),))
    db.commit()
    db.close()


def pickled_layout(state: dict[str, Any]) -> None:
    """The layout evoforge wrote before the versioned state: no version, the optimizer pickled."""
    del state["version"]
    state["run"]["cma"] = base64.b64encode(pickle.dumps({"_g": state["run"]["cma"]["generation"]})).decode()


def future_layout(state: dict[str, Any]) -> None:
    state["version"] = STATE_VERSION + 98


@pytest.mark.parametrize(
    ("change", "named"),
    [(pickled_layout, "earlier pickled format"), (future_layout, f"of version {STATE_VERSION + 98}")],
)
def test_a_saved_state_tune_cannot_continue_restarts_it_with_one_warning(
    tmp_path: Path, change: Any, named: str
) -> None:
    run_dir = tmp_path / "run"
    evoforge.evolve(
        TOY, run_dir=run_dir, iterations=25, mutators={"tune": 1.0}, target_score=None, llm__max_inflight=2,
        evaluation__parallel=2,
    )  # fmt: skip
    saved_tune_state(run_dir, change)
    resumed = evoforge_cli("resume", str(run_dir), "--iterations", "35")
    assert resumed.returncode == 0, resumed.stderr
    warnings = [line for line in resumed.stderr.splitlines() if "tune cannot continue" in line]
    assert len(warnings) == 1 and named in warnings[0], resumed.stderr
    assert "Traceback" not in resumed.stderr
    with SQLiteStore.open(run_dir, readonly=True) as store:
        assert store.count_programs() == 35
        assert store.get_state("mutator")["tune"]["version"] == STATE_VERSION


def many_literals(count: int) -> str:
    values = ", ".join(f"{0.1 + 0.8 * ((7 * i) % count) / count:.3f}" for i in range(count))
    return f"# EVOLVE-BLOCK-START\ndef solve():\n    return [{values}]\n# EVOLVE-BLOCK-END\n"


def quadratic(code: str) -> float:
    """Maximised at every literal equal to 0.5: separable, one optimum."""
    return -sum((literal.value - 0.5) ** 2 for literal in find_literals(code))


def drive_scored(tune: TuneMutator, base: Program, asks: int, scorer: Any, lag: int = 3) -> list[str]:
    """Like ``drive``, with the parent kept at the best program told so far; a score of -inf is a failure."""
    codes: dict[int, str] = {}
    best = base
    for s in range(1, asks + 1):
        if s - lag in codes:
            told = program(codes[s - lag], s - lag, scorer(codes[s - lag]))
            if told.score == -math.inf:
                told = dataclasses.replace(told, ok=False)
            best = told if told.score > best.score else best
            tune.tell(Feedback(s - lag, told))
        proposal = tune.ask(ProposalRequest(s, best, (), (), (), submission_rng(0, s)))
        assert proposal.code is not None
        codes[s] = proposal.code
    return list(codes.values())


def test_every_literal_of_a_long_block_is_tuned_by_default() -> None:
    code = many_literals(60)
    tune = TuneMutator(TuneConfig(), seed=0)
    children = drive_scored(tune, program(code, 0, quadratic(code)), 5, quadratic)
    base = [literal.value for literal in find_literals(code)]
    moved = {i for child in children for i, lit in enumerate(find_literals(child)) if lit.value != base[i]}
    assert moved == set(range(60))


def test_a_high_dimension_uses_separable_cma_and_converges_on_a_separable_quadratic() -> None:
    code = many_literals(45)
    tune = TuneMutator(TuneConfig(separable_above=40), seed=0)
    children = drive_scored(tune, program(code, 0, quadratic(code)), 600, quadratic)
    assert type(tune._run.cma).__name__ == "SepCMA"
    assert max(quadratic(child) for child in children) > quadratic(code) / 10


def test_a_stagnating_run_restarts_with_a_doubled_population() -> None:
    """A flat score stalls every run ``patience`` generations after its first; each restart doubles (IPOP)."""
    tune = TuneMutator(TuneConfig(patience=3, population=4, restarts="ipop"), seed=0)
    base = program(TWO, 0, 1.0)
    drive_scored(tune, base, 5 * 4 + 5 * 8 + 2, lambda code: 1.0)
    state = tune.state()
    assert state["runs"] == 3 and state["growth"] == 2
    assert tune._run.cma.population_size == 16


def test_a_block_larger_than_one_run_tunes_a_random_subset_per_run() -> None:
    """Block-coordinate descent: each run moves its own random 5 of the 12 literals, and only those."""
    code = many_literals(12)
    base = [literal.value for literal in find_literals(code)]
    tune = TuneMutator(TuneConfig(coordinates_per_run=5, generations=2, population=4), seed=0)
    children = drive_scored(tune, program(code, 0, -1.0), 3 * 8 + 1, lambda child: -1.0, lag=1)
    moved = [{i for i, lit in enumerate(find_literals(child)) if lit.value != base[i]} for child in children]
    runs = [set().union(*moved[8 * k : 8 * k + 8]) for k in range(3)]
    assert all(len(subset) == 5 for subset in runs), runs
    assert len({frozenset(subset) for subset in runs}) == 3


def test_a_fresh_optimizer_saves_a_blank_fitness_history() -> None:
    """cmaes leaves the history as np.empty found it; tune blanks it so its saved state holds no leftovers."""
    tune = TuneMutator(TuneConfig(), seed=0)
    tune.ask(ProposalRequest(1, program(TWO, 0, 25.0), (), (), (), submission_rng(0, 1)))
    saved = tune.state()["run"]["cma"]["fitness_history"]
    assert np.isnan(cma_state.unpack(saved)).all() and saved == cma_state.pack(tune._run.cma._funhist_values)
    assert saved == cma_state.pack(np.full(len(tune._run.cma._funhist_values), np.nan))  # no leftover bits


def test_the_saved_state_does_not_grow_with_the_run() -> None:
    """It is written after every ask: it holds the current generation, not the run's history (the
    scores tune knows are rebuilt from the programs a resume tells again)."""
    code = many_literals(40)
    tune = TuneMutator(TuneConfig(), seed=0)
    best, told, sizes = program(code, 0, quadratic(code)), {}, {}
    for s in range(1, 801):
        if s - 3 in told:
            child = program(told[s - 3], s - 3, quadratic(told[s - 3]))
            best = child if child.score > best.score else best
            tune.tell(Feedback(s - 3, child))
        told[s] = tune.ask(ProposalRequest(s, best, (), (), (), submission_rng(0, s))).code
        if s in (200, 800):
            sizes[s] = len(json.dumps(tune.state()))
    assert tune._run.index == 1 and sizes[800] < 1.2 * sizes[200], sizes


def test_bipop_alternates_large_restarts_with_small_ones_near_the_best() -> None:
    """After a stall, the regime that has asked fewer children runs next: the first restart is small
    (a narrower step, near the best program), the next large (the population doubled)."""
    tune = TuneMutator(TuneConfig(patience=3, population=4, restarts="bipop"), seed=0)
    starts = []
    base = program(TWO, 0, 1.0)
    for s in range(1, 80):
        tune.ask(ProposalRequest(s, base, (), (), (), submission_rng(0, s)))
        if s > 3:
            tune.tell(Feedback(s - 3, program(TWO, s - 3, 1.0)))  # flat: every run stalls
        run = tune._run
        if not starts or starts[-1][0] != run.index:
            starts.append((run.index, run.start, run.cma.population_size, run.cma._sigma))
    first, second, third = starts[:3]
    assert first[1].local is None and first[2] == 4 and first[3] == 0.5
    assert second[1].local is not None and second[3] < 0.5 and second[2] == 4
    assert third[1].local is None and third[2] == 8 and third[3] == 0.5


@pytest.mark.parametrize(("min_improvement", "runs"), [(1e-4, 2), (1e-12, 1)])
def test_gains_below_min_improvement_are_a_stall(min_improvement: float, runs: int) -> None:
    """A run creeping by a millionth per generation has stalled at the default threshold (1e-4)."""
    config = TuneConfig(patience=3, population=4, min_improvement=min_improvement)
    tune = TuneMutator(config, seed=0)
    base = program(TWO, 0, 1.0)
    for s in range(1, 40):
        tune.ask(ProposalRequest(s, base, (), (), (), submission_rng(0, s)))
        if s > 3:
            tune.tell(Feedback(s - 3, program(TWO, s - 3, 1.0 + 1e-6 * s)))
    assert tune._run.index >= runs and (runs == 2 or tune._run.index == 1)


def test_a_run_whose_step_shrank_a_hundredfold_has_converged() -> None:
    """Still gaining on a smooth optimum, but its step is below 1 % of its first: the next run starts."""
    code = many_literals(5)
    tune = TuneMutator(TuneConfig(patience=1000, min_improvement=0.0), seed=0)
    drive_scored(tune, program(code, 0, quadratic(code)), 600, quadratic)
    assert tune._run.index > 1


def test_a_wide_run_is_judged_by_its_own_children_not_by_its_base() -> None:
    """Children all worse than the base but better generation after generation: the run goes on (a
    wide run centred on the best program needs time to converge; judged against the base's score it
    stalled after ``patience`` generations every time)."""
    tune = TuneMutator(TuneConfig(patience=3, population=4), seed=0)
    drive_scored(tune, program(TWO, 0, 10.0), 60, lambda code: 0.0, lag=1)
    creeping = TuneMutator(TuneConfig(patience=3, population=4), seed=0)
    told = itertools.count(1)
    drive_scored(creeping, program(TWO, 0, 10.0), 60, lambda code: 0.01 * next(told), lag=1)
    assert tune._run.index > 1  # a flat score still stalls
    assert creeping._run.index == 1 and creeping._run.cma.generation > 10


def test_failed_children_draw_the_step_in_towards_valid_programs() -> None:
    """Every child outside a small box around the base fails: ranked by their distance from the base,
    the failures make CMA-ES shrink its step until children evaluate again."""
    code = many_literals(10)
    start = [literal.value for literal in find_literals(code)]
    valid: list[bool] = []

    def near_start(child: str) -> float:
        values = [literal.value for literal in find_literals(child)]
        valid.append(max(abs(v - v0) for v, v0 in zip(values, start, strict=True)) < 0.02)
        return quadratic(child) if valid[-1] else -math.inf

    tune = TuneMutator(TuneConfig(population=8, sigma=1.0), seed=0)
    drive_scored(tune, program(code, 0, quadratic(code)), 800, near_start, lag=1)
    assert sum(valid[:100]) == 0 and sum(valid) > 200, (sum(valid[:100]), sum(valid))  # equal losses: 83
