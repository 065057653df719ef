"""gp: every child parses, keeps the frozen text, stays small and is structurally new."""

from __future__ import annotations

import ast
import math
import random
import sys
from pathlib import Path

import pytest

import evoforge
import evoforge.mutators.gp as gp_module
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
from evoforge.mutators.pyast import BlockTree, constants_key, structural_hash
from evoforge.records import Program
from evoforge.testing.programs import program as scored

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


def ast_constants_key(code: str) -> int | None:
    """What ``constants_key`` must be when it is known: the digest of the numeric constants of the
    syntax tree outside f-strings, as floats, sorted."""

    def numbers(node: ast.AST) -> list[float]:
        if isinstance(node, ast.JoinedStr):
            return []
        own = []
        if isinstance(node, ast.Constant) and type(node.value) in {int, float}:
            own = [float(node.value) if node.value < 2**1024 else math.inf]
        return own + [value for child in ast.iter_child_nodes(node) for value in numbers(child)]

    return hash(tuple(sorted(numbers(ast.parse(code)))))


EQUIVALENT = [
    ("x = 1.0\ny = 2\n", "x = 1.00  # 3\ny = (2)\n"),
    ("x = 16 + 1e3\n", "x = 0x10 + 1_000.0\n"),
    ("if a:\n    b = 1\nelse:\n    if c:\n        b = 2\n", "if a:\n    b = 1\nelif c:\n    b = 2\n"),
    ("f(*[1], k=2)\n", "f(k=2, *[1])  # 4\n"),
    (
        "s = '5 # 6' + \"7\" + r'\\'' + '''8\n9'''\nt = 10\n",
        "s = '5 # 6' + '7' + '\\\\\\'' + '8\\n9'\nt = 10\n",
    ),
    ("x2 = y3 + .5\n", "x2 = y3 + 0.5  # x2 = 11\n"),
    ("e\u03011 = \ufb01x2 + 3\n", "\u00e91 = fix2 + 3  # 4\n"),  # names are NFKC-normalised
]


@pytest.mark.parametrize(("first", "second"), EQUIVALENT)
def test_structurally_equal_programs_share_their_constants_key(first: str, second: str) -> None:
    assert structural_hash(first) == structural_hash(second)
    assert constants_key(first) == constants_key(second) == ast_constants_key(first) is not None


def test_numbers_inside_f_strings_are_left_out_or_the_key_is_unknown() -> None:
    first, second = "x = f'{1 + 2:>5}' + 3\n", 'x = f"{1+2:>5}" + (3)  # 4\n'
    assert structural_hash(first) == structural_hash(second)
    if sys.version_info >= (3, 12):
        assert constants_key(first) is None and constants_key(second) is None
    else:
        assert constants_key(first) == constants_key(second) == ast_constants_key(first) == hash((3.0,))


def test_the_constants_key_is_that_of_the_syntax_tree_or_unknown() -> None:
    codes = [path.read_text() for path in sorted(EXAMPLES.glob("*/*.py"))]
    codes += [path.read_text() for path in sorted(Path(evoforge.__file__).parent.rglob("*.py"))]
    known = 0
    for code in codes:
        key = constants_key(code)
        assert key is None or key == ast_constants_key(code)
        known += key is not None
    assert known == len(codes) or sys.version_info >= (3, 12)  # f-strings since PEP 701: see pyast
    assert constants_key("x = 2j\n") is None


def counting_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the structural hashes gp computes (one per program it parses and hashes)."""
    hashed: list[str] = []

    def counted(code: str) -> str | None:
        hashed.append(code)
        return structural_hash(code)

    monkeypatch.setattr(gp_module, "structural_hash", counted)
    return hashed


class EagerGP(GPMutator):
    """gp as it was: every told program hashed when told."""

    def _defer(self, code: str) -> None:
        self._remember(code)


def test_told_programs_are_parsed_only_when_a_child_could_match_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resume tells every stored program again: telling must not parse them, yet gp must answer as
    if it had, so a told program equal in structure to a child (other text) still blocks that child."""
    code = (EXAMPLES / "circle_packing_26" / "initial_program.py").read_text()
    first, parent, children = GPMutator(GPConfig()), program(code), []
    for submission in range(1, 60):
        child = first.ask(request(parent, submission)).code
        if child is not None:
            children.append(child)
            parent = program(child, submission) if submission % 5 == 0 else parent
    told = [child + "# told: the same structure in other text\n" for child in children[::2]]
    hashed = counting_hashes(monkeypatch)
    deferred, eager = GPMutator(GPConfig()), EagerGP(GPConfig())
    for submission, child in enumerate(told, start=1):
        deferred.tell(Feedback(submission, program(child, submission)))
    assert hashed == []
    for submission, child in enumerate(told, start=1):
        eager.tell(Feedback(submission, program(child, submission)))
    told_hashes = {structural_hash(child) for child in told}
    hashed.clear()
    parent = program(code)
    for submission in range(1, 60):  # the asks that made ``children``: half of them are known now
        asked = [gp.ask(request(parent, submission)).code for gp in (deferred, eager)]
        assert asked[0] == asked[1]
        assert asked[0] is None or structural_hash(asked[0]) not in told_hashes
        parent = program(asked[0], submission) if asked[0] is not None and submission % 5 == 0 else parent
    assert set(told) & set(hashed)  # told programs were hashed once a child could match them
