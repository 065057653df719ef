"""The ask/tell contract the controller relies on, checked for every offline mutator and a mix.

Resume depends on two promises: a mutator restored from its JSON state asks exactly what the original
would have asked, and telling it again an outcome it was already told changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from evoforge.blocks import outside_blocks
from evoforge.config import GPConfig, RefineConfig, TuneConfig, parse_config
from evoforge.mutators.base import Feedback, Mutator, ProposalRequest
from evoforge.mutators.gp import GPMutator
from evoforge.mutators.literals import find_literals
from evoforge.mutators.mixing import Mix
from evoforge.mutators.refine import RefineMutator
from evoforge.mutators.tune import TuneMutator
from evoforge.replay import submission_rng
from evoforge.task import load_task
from evoforge.testing.programs import TOY, program

CIRCLES = Path(__file__).resolve().parents[1] / "examples" / "circle_packing_26" / "initial_program.py"

MUTATORS: dict[str, Callable[[], Mutator]] = {
    "tune": lambda: TuneMutator(TuneConfig(), seed=2),
    "refine": lambda: RefineMutator(RefineConfig(), max_literals=1000),
    "gp": lambda: GPMutator(GPConfig()),
    "mix": lambda: Mix.from_config(
        load_task(TOY), parse_config({"mutators": {"tune": 1, "refine": 1, "gp": 1}})
    ),
}
LAG = 3


def score(code: str) -> float:
    """Closeness of the first literal to 3.7 (gp may leave a program without one)."""
    literals = find_literals(code)
    return -((literals[0].value - 3.7) ** 2) if literals else -1e9


class Driver:
    """Asks and tells like the controller: submission s is asked after the outcome of s - LAG is told."""

    def __init__(self, mutator: Mutator, parent_code: str) -> None:
        self.mutator = mutator
        self.parent = program(parent_code, 0, -7.29)
        self.told: list[Feedback] = []
        self.codes: dict[int, str | None] = {}

    def run(self, submissions: range) -> None:
        for s in submissions:
            code = self.codes.get(s - LAG)
            if s - LAG in self.codes:
                child = program(code, s - LAG, score(code)) if code else None
                feedback = Feedback(s - LAG, child, failure=None if child else "duplicate")
                self.mutator.tell(feedback)
                self.told.append(feedback)
            request = ProposalRequest(s, self.parent, (), (), (), submission_rng(1, s))
            proposal = self.mutator.ask(request)
            assert proposal is not None
            if proposal.code is not None:
                assert outside_blocks(proposal.code) == outside_blocks(self.parent.code)
            self.codes[s] = proposal.code


@pytest.mark.parametrize("name", MUTATORS)
@pytest.mark.parametrize("parent", [TOY / "initial_program.py", CIRCLES], ids=["toy", "circles"])
def test_restored_state_and_repeated_tells_change_nothing(name: str, parent: Path) -> None:
    code = parent.read_text()
    straight = Driver(MUTATORS[name](), code)
    straight.run(range(1, 61))
    first = Driver(MUTATORS[name](), code)
    first.run(range(1, 31))
    state = json.loads(json.dumps(first.mutator.state()))
    resumed = Driver(MUTATORS[name](), code)
    resumed.mutator.restore(state)
    for feedback in first.told:  # what the controller does on resume: tell everything applied again
        resumed.mutator.tell(feedback)
    resumed.codes = dict(first.codes)
    resumed.run(range(31, 61))
    assert resumed.codes == straight.codes
    assert sum(c is not None for c in straight.codes.values()) >= 30
