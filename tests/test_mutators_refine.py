"""refine: a (1+1)-ES with the one-fifth rule on the best program's float literals."""

from __future__ import annotations

import json
from pathlib import Path

import evoforge
from evoforge.config import RefineConfig, parse_config
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.mutators.literals import find_literals
from evoforge.mutators.mixing import mutator_weights
from evoforge.mutators.refine import RefineMutator
from evoforge.records import Program
from evoforge.replay import submission_rng
from evoforge.testing.programs import TOY, program

TARGETS = (0.707106781187, 1.414213562373, 1.732050807569)
START = "# EVOLVE-BLOCK-START\ndef solve():\n    return [0.7, 1.4, 1.7, 3]\n# EVOLVE-BLOCK-END\n"


def error(code: str) -> float:
    values = [literal.value for literal in find_literals(code)]
    return sum((value - target) ** 2 for value, target in zip(values, TARGETS, strict=False))


def drive(refine: RefineMutator, submissions: range, told: dict[int, str], lag: int = 2) -> Program:
    """Ask and tell as the controller does, the parent always the initial program; returns the best."""
    best = program(START, 0, -error(START))
    for s in submissions:
        if s - lag in told:
            child = program(told[s - lag], s - lag, -error(told[s - lag]))
            best = child if child.score > best.score else best
            refine.tell(Feedback(s - lag, child))
        proposal = refine.ask(
            ProposalRequest(s, program(START, 0, -error(START)), (), (), (), submission_rng(0, s))
        )
        assert proposal.code is not None
        told[s] = proposal.code
    return best


def test_refine_settles_the_last_digits_of_a_known_optimum() -> None:
    """From one or two correct digits to ten: the step shrinks with the success rate (a fixed step stalls)."""
    best = drive(RefineMutator(RefineConfig(), max_literals=100), range(1, 600), {})
    assert error(START) > 1e-4 and error(best.code) < 1e-18
    assert best.code.endswith("3]\n# EVOLVE-BLOCK-END\n")  # the int is left alone


def test_a_restored_refine_asks_the_same_children() -> None:
    straight: dict[int, str] = {}
    drive(RefineMutator(RefineConfig(), max_literals=100), range(1, 120), straight)
    first, interrupted = RefineMutator(RefineConfig(), max_literals=100), {}
    drive(first, range(1, 60), interrupted)
    second = RefineMutator(RefineConfig(), max_literals=100)
    second.restore(json.loads(json.dumps(first.state())))
    drive(second, range(60, 120), interrupted)
    assert interrupted == straight


def test_refine_is_a_mutator_a_config_can_name(tmp_path: Path) -> None:
    assert mutator_weights(parse_config({"mutators": {"refine": 1}})) == {"refine": 1.0}
    result = evoforge.evolve(
        TOY, run_dir=tmp_path / "run", iterations=120, mutators={"refine": 1.0}, llm__max_inflight=2,
        evaluation__parallel=2, target_score=-1e-8,
    )  # fmt: skip
    assert result.best_score >= -1e-8
    with evoforge.load_run(tmp_path / "run") as run:
        assert {p.mutator for p in run.programs()} == {"initial", "refine"}
