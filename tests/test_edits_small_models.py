"""What small local models write, parsed: each accepted answer shape comes from a real SmolLM2-135M answer
(shortened) of bench/real_model.py or `make test-llm`, and each must still refuse what is ambiguous."""

from __future__ import annotations

import pytest

from evoforge.blocks import outside_blocks
from evoforge.edits import SearchReplace, apply_edit, diff_marker, parse_response
from evoforge.errors import EditError
from evoforge.fences import ends_with_fence_opener
from evoforge.testing.tasks import PROGRAM

FUTURE = PROGRAM.replace('"""Toy program: one constant to tune."""', "from __future__ import annotations")

# A rewrite that copied the whole program without its markers (make test-llm, crossover, 2026-12-04).
WHOLE_PROGRAM_NO_MARKERS = '''```python
"""Toy program: one constant to tune."""
# The score of the current program most and removes a limit of 7 in this line is 3.
def solve():
    x = 1.0
    return x + 2.5
```
'''

# An answer that ended on its own inside its fence, never closing it (make test-llm, rewrite).
UNCLOSED_BUT_FINISHED = """```python
# Task 1: Tough solution to the task.
def solve():
    x = 1.0
    return x + 2.5"""

# Prose only, the commonest answer (make test-llm, diff).
PROSE = (
    "The task is to remove a limit from the score of a given program by comparing it with other current "
    "programs. This challenge involves finding and removing that maximum number of valid limits."
)


def test_a_rewrite_that_copied_the_code_around_the_block_keeps_that_code_once() -> None:
    for program in (PROGRAM, FUTURE):
        edit = parse_response(
            WHOLE_PROGRAM_NO_MARKERS.replace(PROGRAM.split("\n")[0], program.split("\n")[0]), "rewrite"
        )
        assert edit is not None
        child = apply_edit(program, edit)
        assert outside_blocks(child) == outside_blocks(program)
        assert child.count(program.split("\n")[0]) == 1  # a second __future__ import is a SyntaxError
        assert "    return x + 2.5\n# EVOLVE-BLOCK-END" in child


def test_code_that_only_resembles_the_frozen_code_is_kept() -> None:
    answer = '```python\n"""Toy program: two constants."""\ndef solve():\n    return 2.5\n```\n'
    edit = parse_response(answer, "rewrite")
    assert edit is not None
    assert '# EVOLVE-BLOCK-START\n"""Toy program: two constants."""\ndef solve' in apply_edit(PROGRAM, edit)


def test_a_fence_left_open_counts_only_when_the_answer_ended_on_its_own() -> None:
    assert parse_response(UNCLOSED_BUT_FINISHED, "rewrite") is None  # cut at max_tokens: maybe half a line
    edit = parse_response(UNCLOSED_BUT_FINISHED, "rewrite", complete=True)
    assert edit is not None and "return x + 2.5" in apply_edit(PROGRAM, edit)
    # A bare fence line may close a fence the answer never opened: the prose after it is no code.
    closing_only = "def solve():\n    return 2.5\n```\nThis returns a better value.\n"
    assert parse_response(closing_only, "rewrite", complete=True) is None


def test_an_answer_that_starts_inside_the_prompts_fence_ends_at_its_closing_fence() -> None:
    answer = "def solve():\n    x = 3.5\n    return x\n```\nThis moves x closer to the best value.\n"
    assert ends_with_fence_opener("## Answer format\nAnswer with ...\n```python\n")
    assert not ends_with_fence_opener("## Task\nAnswer with one fenced block.")
    assert parse_response(answer, "rewrite") is None
    for complete in (False, True):  # the prose after the closing fence is not taken for code
        edit = parse_response(answer, "rewrite", opened=True, complete=complete)
        assert edit is not None and edit.rewrite == ("def solve():\n    x = 3.5\n    return x\n",)
    fenced = "Here it is:\n```python\ndef solve():\n    return 3.5\n```\n"  # opened its own fence anyway
    assert parse_response(fenced, "rewrite", opened=True) == parse_response(fenced, "rewrite")


@pytest.mark.parametrize("opened", [False, True])
def test_prose_stays_no_edit_whatever_the_prompt_ended_with(opened: bool) -> None:
    assert parse_response(PROSE, "rewrite", opened=opened, complete=True) is None
    assert parse_response(PROSE, "diff", opened=opened, complete=True) is None


# A fence with the END marker but not the START (bench/real_model.py, diff mode, 2026-12-04).
END_MARKER_ONLY = """Here's a possible solution:

EVOLVE-BLOCK-START
```python
def solve():
    total = 0.01
    return total
#EVOLVE-BLOCK-END
```

To remove that limit, you need a change in how the code runs."""


def test_a_fence_with_one_marker_line_of_two_gives_the_block_side_of_it() -> None:
    edit = parse_response(END_MARKER_ONLY, "rewrite")
    assert edit is not None and edit.rewrite == ("def solve():\n    total = 0.01\n    return total\n",)
    assert "    total = 0.01\n    return total\n# EVOLVE-BLOCK-END" in apply_edit(PROGRAM, edit)
    start_only = '```python\n"""Toy program."""\n# EVOLVE-BLOCK-START\ndef solve():\n    return 2.5\n```\n'
    edit = parse_response(start_only, "rewrite")
    assert edit is not None and edit.rewrite == ("def solve():\n    return 2.5\n",)


def test_a_rewrite_with_markers_in_the_wrong_order_is_still_rejected() -> None:
    answer = "```python\n# EVOLVE-BLOCK-END\ndef solve():\n    return 2.5\n# EVOLVE-BLOCK-START\n```\n"
    edit = parse_response(answer, "rewrite")
    assert edit is not None
    with pytest.raises(EditError, match="without a matching"):
        apply_edit(PROGRAM, edit)


# A miscounted divider and no REPLACE end (bench/real_model.py, diff mode, format_last; the tail of the
# answer, more code after it, cut off here).
MISCOUNTED_AND_UNENDED = """<<<<<<< SEARCH
    step = 0.2
======
    step = 1.75
"""
STEPPED = PROGRAM.replace("    x = 1.0\n", "    step = 0.2\n    x = 1.0 + step\n")


def test_miscounted_markers_and_a_missing_replace_end_of_a_finished_answer_are_read() -> None:
    assert parse_response(MISCOUNTED_AND_UNENDED) is None  # cut at max_tokens: the REPLACE may lack lines
    edit = parse_response(MISCOUNTED_AND_UNENDED, complete=True)
    assert edit is not None and edit.replacements == (SearchReplace("    step = 0.2\n", "    step = 1.75\n"),)
    assert "    step = 1.75\n    x = 1.0 + step\n" in apply_edit(STEPPED, edit)
    for marker in ("<<<< SEARCH", "===", ">>>> REPLACE", "<<<<<<<<<< SEARCH"):  # too far off: prose
        assert diff_marker(marker) is None
    assert [diff_marker(m) for m in ("<<<<<<<SEARCH", " ======== ", ">>>>>> REPLACE")] == [
        "search", "divider", "replace"
    ]  # fmt: skip
