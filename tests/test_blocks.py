"""EVOLVE blocks in several comment syntaxes, and every way markers can be wrong."""

from __future__ import annotations

import pytest

from evoforge.blocks import find_blocks, replace_block_contents
from evoforge.errors import BlockError

PYTHON = "import math\n# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\nprint(x)\n"
C = "int f(void) {\n    // EVOLVE-BLOCK-START\n    return 1;\n    // EVOLVE-BLOCK-END\n}\n"
SQL = "-- EVOLVE-BLOCK-START\nSELECT 1;\n-- EVOLVE-BLOCK-END\n"
C_BLOCK_COMMENT = "/* EVOLVE-BLOCK-START */\nint x = 2;\n/* EVOLVE-BLOCK-END */\n"


@pytest.mark.parametrize(
    ("code", "content"),
    [(PYTHON, "x = 1\n"), (C, "    return 1;\n"), (SQL, "SELECT 1;\n"), (C_BLOCK_COMMENT, "int x = 2;\n")],
)
def test_one_block_in_each_comment_syntax(code: str, content: str) -> None:
    (block,) = find_blocks(code)
    assert block.content == content
    assert block.index == 0


def test_several_blocks_in_order_with_line_numbers() -> None:
    code = (
        "a\n# EVOLVE-BLOCK-START\nb\n# EVOLVE-BLOCK-END\nc\n# EVOLVE-BLOCK-START\nd\ne\n# EVOLVE-BLOCK-END\n"
    )
    blocks = find_blocks(code)
    assert [b.content for b in blocks] == ["b\n", "d\ne\n"]
    assert [(b.start_line, b.end_line) for b in blocks] == [(1, 3), (5, 8)]


def test_marker_word_inside_code_is_not_a_marker() -> None:
    code = 'print("EVOLVE-BLOCK-START")\n# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n'
    assert len(find_blocks(code)) == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("x = 1\n", "no EVOLVE-BLOCK-START"),
        ("# EVOLVE-BLOCK-END\n", "prog:1: EVOLVE-BLOCK-END without a matching"),
        ("# EVOLVE-BLOCK-START\nx\n", "prog:1: EVOLVE-BLOCK-START is never closed"),
        (
            "# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n",
            "prog:2: EVOLVE-BLOCK-START inside",
        ),
    ],
)
def test_marker_errors_name_source_and_line(code: str, message: str) -> None:
    with pytest.raises(BlockError, match=message):
        find_blocks(code, source="prog")


def test_replace_keeps_everything_outside_blocks() -> None:
    code = (
        "head\n# EVOLVE-BLOCK-START\nold\n# EVOLVE-BLOCK-END\n"
        "mid\n// EVOLVE-BLOCK-START\nold2\n// EVOLVE-BLOCK-END\n"
    )
    new = replace_block_contents(code, ["new", "new2\nmore\n"])
    assert new == (
        "head\n# EVOLVE-BLOCK-START\nnew\n# EVOLVE-BLOCK-END\nmid\n"
        "// EVOLVE-BLOCK-START\nnew2\nmore\n// EVOLVE-BLOCK-END\n"
    )


def test_replace_needs_one_content_per_block() -> None:
    with pytest.raises(BlockError, match="expected 1 block"):
        replace_block_contents(PYTHON, ["a", "b"])
