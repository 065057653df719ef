"""Normal forms and indexes of deduplication: what counts as the same program, and when a twin counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.database.dedup import CodeIndex, FingerprintIndex, dedup_summary, structural_key
from evoforge.evaluation.sandboxed_evaluation import load_module

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BASE = '''"""A module docstring."""
import math


def solve(n):
    """Sum of squares."""
    total = 0  # running sum
    for i in range(n):
        total += i * i
    return math.sqrt(total)
'''


def same(a: str, b: str, filename: str = "program.py") -> bool:
    return structural_key(a, filename, "normalized") == structural_key(b, filename, "normalized")


@pytest.mark.parametrize(
    "twin",
    [
        BASE.replace("  # running sum", "").replace(
            '    """Sum of squares."""\n', ""
        ),  # comments, docstrings
        BASE.replace("total", "acc").replace("for i", "for k").replace("i * i", "k * k"),  # local names
        BASE.replace("total += i * i", "total  +=  i*i").replace("\n\n\n", "\n"),  # formatting
        BASE.replace("def solve(n):\n", 'def solve(n):\n    "a string statement"\n'),
    ],
)
def test_equivalent_texts_share_a_normal_form(twin: str) -> None:
    assert twin != BASE and same(BASE, twin)


@pytest.mark.parametrize(
    "other",
    [
        BASE.replace("i * i", "i * 2"),  # a constant
        BASE.replace("def solve(n)", "def solve(m)").replace(
            "range(n)", "range(m)"
        ),  # a parameter: interface
        BASE.replace("math.sqrt(total)", "math.sqrt(n)"),  # a local for a parameter
        BASE.replace("import math", "import math\nacc = 1").replace("return math.sqrt(total)", "return acc"),
    ],
)
def test_different_programs_keep_different_forms(other: str) -> None:
    assert not same(BASE, other)


def test_a_local_that_shares_a_bound_name_is_not_renamed() -> None:
    """``e`` is both a local and the exception's name; renaming only the first would let a program that
    uses the other variable look the same."""
    uses_exception = "def f():\n    e = 0\n    try:\n        g()\n    except E as e:\n        return e\n"
    uses_local = "def f():\n    z = 0\n    try:\n        g()\n    except E as e:\n        return z\n"
    assert not same(uses_exception, uses_local)


def test_a_default_argument_is_the_callers_name() -> None:
    """A default is evaluated outside the function: its ``x`` is not the function's local ``x``."""
    outer = "def f(a=x):\n    x = 1\n    return a + x\n"
    inner = "def f(a=y):\n    y = 1\n    return a + y\n"
    assert not same(outer, inner)


def test_other_languages_drop_comments_and_whitespace_but_not_strings() -> None:
    c = "int f(void) {\n  return 1; // one\n}\n"
    assert same(c, "int f(void) { /* the */ return 1; }", "kernel.c")
    assert not same('char *s = "// a";', 'char *s = "// b";', "kernel.c")
    assert not same(c, c.replace("1", "2"), "kernel.c")


def test_exact_mode_compares_text_and_off_finds_nothing() -> None:
    index = CodeIndex(window=2, mode="exact")
    index.note(BASE, 0, program_id=0)
    assert index.twin(BASE, 1) == 0  # the initial program has always finished
    assert index.twin(BASE.replace("  # running sum", ""), 5) is None
    off = CodeIndex(window=2, mode="off")
    off.note(BASE, 0, program_id=0)
    assert off.twin(BASE, 9) is None


def test_only_a_twin_older_than_the_window_counts() -> None:
    index = CodeIndex(window=3, mode="normalized")
    assert index.twin(BASE, 4) is None
    index.stored(4, program_id=7)
    assert index.twin(BASE, 6) is None  # 4 > 6 - 3: it may not have finished at another concurrency
    assert index.twin(BASE, 7) == 7
    fingerprints = FingerprintIndex(window=3)
    fingerprints.add("f", submission=5, program_id=2)
    fingerprints.add("f", submission=4, program_id=3)  # stored later, submitted earlier: the reference
    assert fingerprints.match("f", 6) is None and fingerprints.match("f", 7) == 3


def test_the_summary_counts_reuse_matches_and_collisions() -> None:
    rows = [("a", None, True, 1.0), ("a", 0, True, 1.0), ("a", None, True, 1.0), ("a", None, True, 2.0),
            ("b", None, False, float("-inf")), ("b", None, True, 0.5)]  # fmt: skip
    assert dedup_summary(4, rows) == {
        "saved_structural": 4,
        "saved_functional": 1,
        "fingerprint_matches_evaluated": 3,
        "collisions": 2,
    }


def test_an_examples_fingerprint_sees_the_returned_object_only(tmp_path: Path) -> None:
    """toy_constant's fingerprint(): equal for two ways of returning 3.5, different for 3.6."""
    evaluator = load_module(str(EXAMPLES / "toy_constant" / "evaluator.py"), "toy_constant_evaluator")
    programs = {
        "plain": "def solve():\n    return 3.5\n",
        "rewritten": "def solve():\n    half = 7 / 2  # the same number\n    return half\n",
        "other": "def solve():\n    return 3.6\n",
    }
    prints = {}
    for name, code in programs.items():
        (tmp_path / f"{name}.py").write_text(code)
        prints[name] = evaluator.fingerprint(str(tmp_path / f"{name}.py"))
    assert prints["plain"] == prints["rewritten"] != prints["other"]
