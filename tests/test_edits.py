"""Parsing model answers and applying edits inside the EVOLVE blocks only: every path and every rejection."""

from __future__ import annotations

from typing import Literal

import pytest

from evoforge.blocks import find_blocks, outside_blocks
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

C_PROGRAM = """#include <stdio.h>
// EVOLVE-BLOCK-START
static int step(int x) {
    return x + 1;
}
// EVOLVE-BLOCK-END
int main(void) {
    int x = 0;
    // EVOLVE-BLOCK-START
    x = step(x);
    // EVOLVE-BLOCK-END
    printf("%d\\n", x);
}
"""


def diff(search: str, replace: str) -> str:
    """One SEARCH/REPLACE block; an empty ``replace`` gives an empty REPLACE section."""
    replace_lines = f"{replace}\n" if replace else ""
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace_lines}>>>>>>> REPLACE\n"


def apply_answer(answer: str, code: str = PROGRAM, mode: Literal["diff", "rewrite"] = "diff") -> str:
    edit = parse_response(answer, mode)
    assert edit is not None
    child = apply_edit(code, edit)
    assert outside_blocks(child) == outside_blocks(code)
    return child


def rejection(answer: str, code: str = PROGRAM) -> str:
    with pytest.raises(EditError) as caught:
        apply_answer(answer, code)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- parsing ---------------------------------------------------------------------------------------------


def test_search_replace_blocks_are_parsed_with_prose_and_fences_around() -> None:
    answer = (
        "Idea: count further.\n```python\n"
        + diff("    total = 0", "    total = 1")
        + "\n```\nAnd then:\n\n"
        + diff("    return total", "")
        + "\nThat's all."
    )
    assert parse_response(answer) == ParsedEdit(
        "diff",
        replacements=(
            SearchReplace("    total = 0\n", "    total = 1\n"),
            SearchReplace("    return total\n", ""),
        ),
    )


def test_marker_lines_tolerate_surrounding_spaces_and_crlf() -> None:
    answer = "  <<<<<<< SEARCH  \r\nx = 1\r\n=======   \r\nx = 2\r\n>>>>>>> REPLACE \r\n"
    assert parse_response(answer) == ParsedEdit("diff", replacements=(SearchReplace("x = 1\n", "x = 2\n"),))


def test_marker_lines_need_five_to_nine_characters() -> None:
    # Seven is the format; small models miscount by one or two (tests/test_edits_small_models.py).
    assert parse_response("<<<<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE") is None
    assert parse_response("<<<<<<< SEARCH\nx\n====\ny\n>>>>>>> REPLACE") is None
    assert parse_response("<<<<<<<< SEARCH\nx\n========\ny\n>>>>>> REPLACE") is not None


def test_a_fence_wrapping_a_whole_section_is_not_part_of_it() -> None:
    answer = "<<<<<<< SEARCH\n```python\nx = 1\n```\n=======\n```\nx = 2\n```\n>>>>>>> REPLACE\n"
    assert parse_response(answer) == ParsedEdit("diff", replacements=(SearchReplace("x = 1\n", "x = 2\n"),))


def test_an_unfinished_block_is_dropped_when_the_next_one_starts() -> None:
    answer = "<<<<<<< SEARCH\nx = 1\n(cut)\n" + diff("y = 1", "y = 2")
    assert parse_response(answer) == ParsedEdit("diff", replacements=(SearchReplace("y = 1\n", "y = 2\n"),))


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "I think the code is fine as it is.",
        "<<<<<<< SEARCH\nno end",
        "<<<<<<< SEARCH\nx\n=======\ny\n",
        "```python\n\n   \n```",
        "Here is the code:\n```python\ndef solve():\n    return 1\n",
        "Use `x = 2` instead.",
    ],
    ids=["empty", "prose", "no-divider", "no-replace-mark", "blank-fence", "unclosed-fence", "inline-code"],
)
def test_nothing_parseable_is_none(answer: str) -> None:
    assert parse_response(answer) is None
    assert parse_response(answer, "rewrite") is None


def test_the_longest_fence_is_the_rewrite() -> None:
    answer = (
        "Change `solve` like this:\n```python\nreturn 42\n```\nFull block:\n"
        "```python\ndef solve():\n    return 42\n```\nUsage:\n```\nsolve()\n```\n"
    )
    assert parse_response(answer) == ParsedEdit("rewrite", rewrite=("def solve():\n    return 42\n",))


def test_a_fence_with_markers_beats_a_longer_one_without() -> None:
    marked = "```c\n// EVOLVE-BLOCK-START\nint a;\n// EVOLVE-BLOCK-END\n```\n"
    answer = "```c\n" + "/* a long explanation */\n" * 5 + "```\n" + marked
    assert parse_response(answer) == ParsedEdit("rewrite", rewrite=("int a;\n",))


def test_long_backtick_and_tilde_fences() -> None:
    body = 'def solve():\n    """Returns ```42```."""\n    return 42\n'
    assert parse_response(f"````python\n{body}````\n") == ParsedEdit("rewrite", rewrite=(body,))
    assert parse_response(f"~~~\n{body}~~~~\n") == ParsedEdit("rewrite", rewrite=(body,))


def test_rewrite_mode_prefers_the_fence_and_diff_mode_the_search_replace() -> None:
    answer = diff("    total = 0", "    total = 5") + "\n```python\ndef solve():\n    return 9\n```"
    assert "return 9" in apply_answer(answer, mode="rewrite")
    assert "total = 5" in apply_answer(answer, mode="diff")


def test_rewrite_mode_falls_back_to_search_replace_even_inside_a_fence() -> None:
    answer = "```diff\n" + diff("    total = 0", "    total = 5") + "\n```"
    edit = parse_response(answer, "rewrite")
    assert edit is not None and edit.kind == "diff"


# --- application -----------------------------------------------------------------------------------------


def test_exact_search_replace_changes_only_the_matched_lines() -> None:
    child = apply_answer("Idea: count further.\n" + diff("    for i in range(3):", "    for i in range(5):"))
    assert child == PROGRAM.replace("range(3)", "range(5)")


def test_an_empty_replace_deletes_the_lines() -> None:
    child = apply_answer(diff("        total += i", ""))
    assert child == PROGRAM.replace("        total += i\n", "")


def test_exact_matches_start_a_line() -> None:
    code = "# EVOLVE-BLOCK-START\nsubtotal = 0\ntotal = 0\n# EVOLVE-BLOCK-END\n"
    assert apply_answer(diff("total = 0", "total = 1"), code) == code.replace("\ntotal = 0", "\ntotal = 1")


def test_dedented_search_matches_and_the_replacement_is_reindented() -> None:
    answer = diff("for i in range(3):   \n    total += i", "for i in range(4):\n    total += 2 * i")
    child = apply_answer(answer)
    assert child == PROGRAM.replace(
        "    for i in range(3):\n        total += i\n", "    for i in range(4):\n        total += 2 * i\n"
    )


def test_over_indented_search_matches_and_the_replacement_is_dedented() -> None:
    answer = diff(
        "            total += i\n        return total", "            total -= i\n        return -total"
    )
    child = apply_answer(answer)
    assert child == PROGRAM.replace("total += i\n    return total", "total -= i\n    return -total")


def test_a_one_line_search_without_indentation_keeps_the_block_indented() -> None:
    child = apply_answer(diff("total = 0", "total = 0\ncount = 0"))
    assert "    total = 0\n    count = 0\n    for i" in child


def test_blank_lines_around_a_search_are_ignored_when_matching_loosely() -> None:
    child = apply_answer(diff("\n    return total\n\n", "    return total + 1"))
    assert child == PROGRAM.replace("return total\n", "return total + 1\n")


def test_several_edits_in_two_blocks_apply_in_order() -> None:
    answer = (
        diff("    return x + 1;", "    return x + 2;")
        + "\nthen\n"
        + diff("    return x + 2;", "    return x * 2 + 2;")
        + "\n"
        + diff("    x = step(x);", "    x = step(step(x));")
    )
    child = apply_answer(answer, C_PROGRAM)
    assert [b.content for b in find_blocks(child)] == [
        "static int step(int x) {\n    return x * 2 + 2;\n}\n",
        "    x = step(step(x));\n",
    ]


def test_a_search_outside_blocks_is_fine_when_it_matches_once_inside() -> None:
    code = "x = 1\n# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\nx = 1\n"
    assert (
        apply_answer(diff("x = 1", "x = 2"), code)
        == "x = 1\n# EVOLVE-BLOCK-START\nx = 2\n# EVOLVE-BLOCK-END\nx = 1\n"
    )


def test_rewrite_of_the_single_block_from_a_fenced_answer_with_prose() -> None:
    answer = "New version, faster:\n```python\ndef solve():\n    return 3\n```\nThis avoids the loop."
    child = apply_answer(answer)
    assert child == (
        "import math\n\nLIMIT = 10\n\n# EVOLVE-BLOCK-START\ndef solve():\n    return 3\n"
        "# EVOLVE-BLOCK-END\n\nprint(solve())\n"
    )


def test_rewrite_with_markers_takes_each_blocks_contents_and_ignores_the_rest() -> None:
    answer = (
        "```c\n#include <stdlib.h>\n// EVOLVE-BLOCK-START\nstatic int step(int x) { return 2 * x; }\n"
        "// EVOLVE-BLOCK-END\nint main(void) {\n    // EVOLVE-BLOCK-START\n    x = step(x) + 1;\n"
        "    // EVOLVE-BLOCK-END\n}\n```"
    )
    child = apply_answer(answer, C_PROGRAM, mode="rewrite")
    assert "stdlib" not in child
    assert [b.content for b in find_blocks(child)] == [
        "static int step(int x) { return 2 * x; }\n",
        "    x = step(x) + 1;\n",
    ]


# --- rejections ------------------------------------------------------------------------------------------


def test_a_search_that_is_not_there_is_rejected_with_its_first_line() -> None:
    message = rejection(diff("    total = 99\n    more", "    total = 1"))
    assert message == "SEARCH 'total = 99' was not found in the EVOLVE blocks; copy the lines exactly"


def test_the_failing_edit_is_named_when_there_are_several() -> None:
    message = rejection(diff("    total = 0", "    total = 1") + diff("    total = 0", "    total = 2"))
    assert message.startswith("SEARCH 'total = 0' (edit 2 of 2) was not found")


def test_long_search_lines_are_truncated_in_the_message() -> None:
    message = rejection(diff("y = " + "1" * 200, "y = 2"))
    assert f"SEARCH 'y = {'1' * 75}…' was not found" in message


ONE_BLOCK_TWICE = "# EVOLVE-BLOCK-START\nx = 0\nx += 1\nx += 1\n# EVOLVE-BLOCK-END\n"
TWO_BLOCKS_ONCE = "# EVOLVE-BLOCK-START\nx += 1\n# EVOLVE-BLOCK-END\n" * 2


@pytest.mark.parametrize(
    ("code", "search"),
    [(ONE_BLOCK_TWICE, "x += 1"), (ONE_BLOCK_TWICE, "  x += 1  "), (TWO_BLOCKS_ONCE, "x += 1")],
    ids=["exact", "loose", "two-blocks"],
)
def test_an_ambiguous_search_is_rejected(code: str, search: str) -> None:
    assert rejection(diff(search, "x += 2"), code) == (
        "SEARCH 'x += 1' appears 2 times in the EVOLVE blocks; include more context"
    )


@pytest.mark.parametrize("search", ["LIMIT = 10", "print(solve())", "  LIMIT = 10"])
def test_a_search_matching_only_outside_the_blocks_is_rejected(search: str) -> None:
    assert "touches code outside the EVOLVE blocks" in rejection(diff(search, "changed = 1"))


def test_a_search_across_a_marker_is_rejected() -> None:
    message = rejection(diff("LIMIT = 10\n\n# EVOLVE-BLOCK-START\ndef solve():", "def solve():"))
    assert message.startswith("SEARCH 'LIMIT = 10' includes an EVOLVE-BLOCK marker line")


def test_a_replace_that_adds_a_marker_is_rejected() -> None:
    message = rejection(
        diff("    total = 0", "    total = 0\n# EVOLVE-BLOCK-END\nx = 1\n# EVOLVE-BLOCK-START")
    )
    assert message.startswith("the REPLACE of SEARCH 'total = 0' adds an EVOLVE-BLOCK marker line")


def test_an_empty_search_is_rejected() -> None:
    assert rejection("<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE").startswith(
        "a SEARCH section is empty"
    )
    with pytest.raises(EditError, match="empty"):
        apply_edit(PROGRAM, ParsedEdit("diff", replacements=(SearchReplace(" \n", "x = 1\n"),)))


def test_an_edit_that_changes_nothing_is_rejected() -> None:
    assert rejection(diff("    total = 0", "    total = 0")) == "the edit leaves the program unchanged"
    body = "def solve():\n    total = 0\n    for i in range(3):\n        total += i\n    return total"
    assert rejection(f"```python\n{body}\n```") == "the edit leaves the program unchanged"


def test_a_rewrite_with_the_wrong_number_of_blocks_is_rejected() -> None:
    message = rejection("```c\nint y = 3;\n```", C_PROGRAM)
    assert message.startswith("the rewrite has 1 EVOLVE block(s) but the program has 2")


def test_a_rewrite_with_unbalanced_markers_names_the_marker() -> None:
    # One marker line alone is read as the block's side of it (tests/test_edits_small_models.py).
    message = rejection("```python\n# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-START\ny = 2\n```")
    assert (
        message == "the rewrite:3: EVOLVE-BLOCK-START inside the block opened on line 1; blocks cannot nest"
    )


def test_a_rewrite_content_holding_markers_is_rejected() -> None:
    nested = "x = 1\n# EVOLVE-BLOCK-START\ny\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(EditError, match="markers inside a block"):
        apply_edit(PROGRAM, ParsedEdit("rewrite", rewrite=(nested,)))
