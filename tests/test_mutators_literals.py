"""Numeric literals of EVOLVE blocks: found by tokens, put back without disturbing anything else."""

from __future__ import annotations

from evoforge.mutators.literals import find_literals, format_number, substitute

PROGRAM = """RATE = 0.5  # outside the block: never tuned
# EVOLVE-BLOCK-START
def f(a):
    label = "3.5 and 7"  # 11 in a comment
    x2 = 1_000 + 0x1f
    return a ** 2 + x2 * 1e-3 + 2j
# EVOLVE-BLOCK-END
"""


def test_only_real_literals_inside_blocks_are_found() -> None:
    literals = find_literals(PROGRAM)
    assert [(PROGRAM[lit.start : lit.end], lit.value, lit.is_int) for lit in literals] == [
        ("1_000", 1000.0, True),
        ("0x1f", 31.0, True),
        ("2", 2.0, True),
        ("1e-3", 0.001, False),
    ]


def test_ints_can_be_left_alone() -> None:
    assert [lit.value for lit in find_literals(PROGRAM, include_ints=False)] == [0.001]


def test_substitute_rounds_ints_and_keeps_everything_else() -> None:
    literals = find_literals(PROGRAM)
    child = substitute(PROGRAM, literals, [999.6, 30.2, -1.4, 0.25])
    assert child == PROGRAM.replace("1_000", "1000").replace("0x1f", "30").replace("** 2", "** -1").replace(
        "1e-3", "0.25"
    )
    assert substitute(PROGRAM, literals, [1.5, 2.0, 3.0, 4.0], keep_ints=False).count("1.5 + 2.0") == 1


def test_a_negative_value_before_a_power_is_parenthesised() -> None:
    code = "# EVOLVE-BLOCK-START\ny = 2 ** 2\n# EVOLVE-BLOCK-END\n"
    literals = find_literals(code)
    child = substitute(code, literals, [-2.0, 2.0])
    assert "y = (-2) ** 2" in child
    namespace: dict[str, object] = {}
    exec(child, namespace)
    assert namespace["y"] == 4
    assert format_number(-0.5, as_int=False) == "-0.5"


def test_code_that_is_not_python_has_no_literals() -> None:
    assert find_literals("# EVOLVE-BLOCK-START\nx = 'unterminated\n# EVOLVE-BLOCK-END\n") == []
    assert find_literals("no blocks = 3\n") == []
