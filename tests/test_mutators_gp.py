"""gp: every child parses, keeps the frozen text, stays small and is structurally new."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from evoforge.blocks import outside_blocks
from evoforge.config import GPConfig
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.mutators.gp import (
    GPMutator,
    change_loop_bound,
    edit_statements,
    perturb_constant,
    swap_arithmetic,
    swap_comparison,
)
from evoforge.mutators.pyast import BlockTree, structural_hash
from evoforge.records import Program
from tests.test_mutators_tune import program as scored

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

RICH = '''"""A program with a bit of everything gp edits."""
import math

LIMIT = 3  # frozen


# EVOLVE-BLOCK-START
def weight(v):
    # a comment gp must keep
    return v * 2 + 1


def solve():
    total = 0.0
    for i in range(10):
        if i < LIMIT:
            total += weight(i)
        elif i == 7:
            total -= math.sqrt(i) / 3
    return total
# EVOLVE-BLOCK-END


def helper():
    return solve()
'''

INDENTED = """def solve():
    values = []
    # EVOLVE-BLOCK-START
    for k in range(5):
        values.append(k * 0.5)
    scale = 2
    # EVOLVE-BLOCK-END
    return sum(values) * scale
"""


def program(code: str, submission: int = 0) -> Program:
    return scored(code, submission, 0.0)


def request(parent: Program, submission: int, *inspirations: Program) -> ProposalRequest:
    return ProposalRequest(submission, parent, tuple(inspirations), (), (), random.Random(submission))


@pytest.mark.parametrize(
    "code",
    [
        RICH,
        INDENTED,
        (EXAMPLES / "toy_constant" / "initial_program.py").read_text(),
        (EXAMPLES / "circle_packing_26" / "initial_program.py").read_text(),
    ],
    ids=["rich", "indented", "toy", "circles"],
)
def test_children_parse_keep_frozen_text_and_are_new(code: str) -> None:
    gp = GPMutator(GPConfig())
    parent = program(code)
    hashes = {structural_hash(code)}
    children = 0
    for submission in range(1, 120):
        proposal = gp.ask(request(parent, submission))
        if proposal.code is None:
            assert proposal.failure_kind == "duplicate"
            continue
        children += 1
        child = proposal.code
        ast.parse(child)
        assert outside_blocks(child) == outside_blocks(code)
        assert len(child) <= len(code) * 1.2 + 100
        assert structural_hash(child) not in hashes
        hashes.add(structural_hash(child))
        if submission % 3 == 0:
            parent = program(child, submission)  # walk on, so edits compound
    assert children >= 10


def test_comments_outside_the_edited_span_survive() -> None:
    gp = GPMutator(GPConfig(crossover_rate=0.0))
    kept = sum(
        "# a comment gp must keep" in (gp.ask(request(program(RICH), s)).code or "# a comment gp must keep")
        for s in range(1, 40)
    )
    assert kept >= 35  # only deleting or moving the statement after it may take the comment along


def tree(content: str) -> BlockTree:
    parsed = BlockTree.parse(content)
    assert parsed is not None
    return parsed


def test_each_operator_changes_what_it_names() -> None:
    rng = random.Random(1)
    code = "x = a < b\ny = a + 2.5\nfor i in range(4):\n    z = i\n"
    changed = perturb_constant(tree(code), rng)
    assert changed is not None and changed.count("\n") == code.count("\n")
    constants = [n.value for n in ast.walk(ast.parse(changed)) if isinstance(n, ast.Constant)]
    assert constants != [2.5, 4] and len(constants) == 2
    assert swap_comparison(tree(code), rng).splitlines()[0] in {"x = a <= b", "x = a > b", "x = a >= b"}
    assert swap_arithmetic(tree(code), rng).splitlines()[1] in {"y = a - 2.5", "y = a * 2.5", "y = a / 2.5"}
    assert change_loop_bound(tree(code), rng).splitlines()[2] in {
        f"for i in range({n}):" for n in (3, 5, 8, 2)
    }
    for seed in range(10):
        edited = edit_statements(tree(code), random.Random(seed))
        assert edited is not None and ast.parse(edited)


def test_a_negative_constant_is_parenthesised_where_it_binds() -> None:
    code = "y = 2 ** 3\n"
    for seed in range(40):
        child = perturb_constant(tree(code), random.Random(seed))
        assert child is not None
        namespace: dict[str, float] = {}
        exec(child, namespace)
        left, _, right = child.partition("**")
        expected = eval(left.split("=")[1]) ** eval(right)  # what the text says, read as written
        assert namespace["y"] == expected


def test_crossover_takes_a_function_from_an_inspiration() -> None:
    donor_code = RICH.replace("return v * 2 + 1", "scaled = v * 3\n    return scaled - 1")
    donor = program(donor_code.replace("total = 0.0", "total = 1.0"), 1)
    gp = GPMutator(GPConfig(crossover_rate=1.0))
    children = [gp.ask(request(program(RICH), s, donor)).code for s in range(2, 30)]
    assert any(c is not None and "scaled = v * 3" in c and "return scaled - 1" in c for c in children)


def test_programs_told_are_never_proposed_again() -> None:
    code = (EXAMPLES / "toy_constant" / "initial_program.py").read_text()
    first = GPMutator(GPConfig()).ask(request(program(code), 1)).code
    assert first is not None
    gp = GPMutator(GPConfig())
    commented = first.replace("def solve():", "def solve():  # same program, other text")
    gp.tell(Feedback(5, program(commented, 5)))
    for submission in range(1, 30):
        child = gp.ask(request(program(code), submission)).code
        assert child is None or structural_hash(child) != structural_hash(first)


def test_a_parent_that_is_not_python_fails_the_generation() -> None:
    code = "int main() {\n// EVOLVE-BLOCK-START\n  return 1;\n// EVOLVE-BLOCK-END\n}\n"
    proposal = GPMutator(GPConfig()).ask(request(program(code), 1))
    assert proposal.code is None and proposal.failure_kind == "no_edit"


def test_state_keeps_children_in_flight() -> None:
    code = (EXAMPLES / "toy_constant" / "initial_program.py").read_text()
    gp = GPMutator(GPConfig())
    child = gp.ask(request(program(code), 1)).code
    resumed = GPMutator(GPConfig())
    resumed.restore(gp.state())
    for submission in range(2, 30):
        other = resumed.ask(request(program(code), submission)).code
        assert other is None or structural_hash(other) != structural_hash(child or "")
