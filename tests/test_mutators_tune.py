"""tune: CMA-ES over the literals of a program, driven through the ask/tell protocol."""

from __future__ import annotations

import json
from pathlib import Path

import evoforge
from evoforge.api import resume
from evoforge.config import TuneConfig
from evoforge.controller import submission_rng
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.mutators.literals import find_literals
from evoforge.mutators.tune import TuneMutator
from evoforge.records import Program
from evoforge.storage import SQLiteStore
from evoforge.testing.programs import TOY, program, program_table

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
        state["run"]["index"] == 1 and state["run"]["generation"] >= 2 and state["pending"]
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
    assert state["run"]["index"] == 1 and state["run"]["generation"] >= 2 and state["pending"]
    resume(tmp_path / "stopped", iterations=60)
    assert program_table(tmp_path / "stopped") == program_table(tmp_path / "straight")
