"""Parsing model answers and applying edits inside the EVOLVE blocks only."""

from __future__ import annotations

import pytest

from evoforge.edits import ParsedEdit, SearchReplace, apply_edit, parse_response
from evoforge.errors import EditError

PROGRAM = """import math

LIMIT = 10

# EVOLVE-BLOCK-START
def solve():
    total = 0
    for i in range(3):
        total += i
    return total
# EVOLVE-BLOCK-END

print(solve())
"""


def diff(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE"


def apply_answer(answer: str, code: str = PROGRAM, mode: str = "diff") -> str:
    edit = parse_response(answer, mode)  # type: ignore[arg-type]
    assert edit is not None
    return apply_edit(code, edit)


def test_exact_search_replace_with_prose_around() -> None:
    answer = "Idea: count further.\n" + diff("    for i in range(3):", "    for i in range(5):") + "\nDone."
    child = apply_answer(answer)
    assert "range(5)" in child and "range(3)" not in child
    assert child.replace("range(5)", "range(3)") == PROGRAM


def test_several_blocks_in_one_answer_apply_in_order() -> None:
    answer = (
        diff("    total = 0", "    total = 1") + "\ntext\n" + diff("    return total", "    return total * 2")
    )
    edit = parse_response(answer)
    assert edit is not None and len(edit.replacements) == 2
    child = apply_edit(PROGRAM, edit)
    assert "total = 1" in child and "return total * 2" in child


def test_markers_with_trailing_spaces_are_accepted() -> None:
    answer = "<<<<<<< SEARCH  \n    total = 0\n=======   \n    total = 7\n>>>>>>> REPLACE  \n"
    assert "total = 7" in apply_answer(answer)


def test_whitespace_tolerant_match_reindents_the_replacement() -> None:
    answer = diff("for i in range(3):   \n    total += i", "for i in range(4):\n    total += 2 * i")
    child = apply_answer(answer)
    assert "    for i in range(4):\n        total += 2 * i\n" in child


def test_rewrite_of_the_single_block_from_a_fence() -> None:
    answer = "New version:\n```python\ndef solve():\n    return 42\n```\n"
    child = apply_answer(answer)
    assert "# EVOLVE-BLOCK-START\ndef solve():\n    return 42\n# EVOLVE-BLOCK-END\n" in child
    assert child.startswith("import math\n\nLIMIT = 10\n")


def test_rewrite_with_markers_takes_the_block_contents() -> None:
    answer = "```python\nanything\n# EVOLVE-BLOCK-START\ndef solve():\n    return 7\n# EVOLVE-BLOCK-END\n```"
    child = apply_answer(answer)
    assert "return 7" in child and "anything" not in child


def test_rewrite_mode_prefers_the_fence() -> None:
    answer = diff("    total = 0", "    total = 5") + "\n```python\ndef solve():\n    return 9\n```"
    assert "return 9" in apply_answer(answer, mode="rewrite")
    assert "total = 5" in apply_answer(answer, mode="diff")


@pytest.mark.parametrize("answer", ["", "I think the code is fine as it is.", "<<<<<<< SEARCH\nno end"])
def test_nothing_parseable_is_none(answer: str) -> None:
    assert parse_response(answer) is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (diff("    total = 99", "    total = 1"), "does not match the current program"),
        (diff("LIMIT = 10", "LIMIT = 20"), "touches code outside the EVOLVE blocks"),
        (diff("print(solve())", "print(1)"), "touches code outside the EVOLVE blocks"),
        (diff("    return total\n# EVOLVE-BLOCK-END", "    return 0\n# EVOLVE-BLOCK-END"), "marker"),
        (diff("    total = 0", "    total = 0"), "leaves the program unchanged"),
        (diff("    total = 0", "# EVOLVE-BLOCK-END\nx = 1"), "contains an EVOLVE-BLOCK marker"),
    ],
)
def test_rejections_say_why(answer: str, reason: str) -> None:
    with pytest.raises(EditError, match=reason):
        apply_answer(answer)


def test_empty_search_is_rejected() -> None:
    with pytest.raises(EditError, match="empty"):
        apply_edit(PROGRAM, ParsedEdit("diff", replacements=(SearchReplace("\n", "x = 1\n"),)))


def test_search_across_a_marker_is_rejected() -> None:
    answer = diff("# EVOLVE-BLOCK-START\ndef solve():", "def solve():")
    with pytest.raises(EditError, match="outside the EVOLVE blocks"):
        apply_answer(answer)


def test_rewrite_block_count_mismatch() -> None:
    two = "# EVOLVE-BLOCK-START\na = 1\n# EVOLVE-BLOCK-END\n# EVOLVE-BLOCK-START\nb = 2\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(EditError, match="rewrite has 1 block"):
        apply_answer("```python\na = 3\n```", code=two)


def test_unchanged_rewrite_is_rejected() -> None:
    body = "def solve():\n    total = 0\n    for i in range(3):\n        total += i\n    return total\n"
    with pytest.raises(EditError, match="unchanged"):
        apply_answer(f"```python\n{body}```")


def test_ambiguous_search_is_rejected() -> None:
    code = "# EVOLVE-BLOCK-START\nx = 0\nx += 1\nx += 1\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(EditError, match="appears 2 times"):
        apply_answer(diff("x += 1", "x += 2"), code=code)
    with pytest.raises(EditError, match="appears 2 times"):
        apply_answer(diff("  x += 1  ", "x += 2"), code=code)
