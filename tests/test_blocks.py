"""EVOLVE blocks in many comment syntaxes, several per file, reassembly, and every marker error."""

from __future__ import annotations

import pytest

from evoforge.blocks import find_blocks, has_marker, marker_of, outside_blocks, replace_block_contents
from evoforge.errors import BlockError

PYTHON = "import math\n# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\nprint(x)\n"
C = "int f(void) {\n    // EVOLVE-BLOCK-START\n    return 1;\n    // EVOLVE-BLOCK-END\n}\n"
SQL = "-- EVOLVE-BLOCK-START\nSELECT 1;\n-- EVOLVE-BLOCK-END\n"
LISP = ";; EVOLVE-BLOCK-START\n(defun f () 1)\n;; EVOLVE-BLOCK-END\n"
MATLAB = "%% EVOLVE-BLOCK-START\ny = 2;\n% EVOLVE-BLOCK-END\n"
C_COMMENT = "/* EVOLVE-BLOCK-START */\nint x = 2;\n/* EVOLVE-BLOCK-END */\n"
HTML = "<p>\n<!-- EVOLVE-BLOCK-START -->\n<b>hi</b>\n<!-- EVOLVE-BLOCK-END-->\n</p>\n"
OCAML = "(* EVOLVE-BLOCK-START: the heuristic *)\nlet x = 3\n(* EVOLVE-BLOCK-END *)\n"
TWO = "a\n# EVOLVE-BLOCK-START\nb\n# EVOLVE-BLOCK-END\nc\n// EVOLVE-BLOCK-START\nd\ne\n// EVOLVE-BLOCK-END\nf"


@pytest.mark.parametrize(
    ("code", "content", "lines"),
    [
        (PYTHON, "x = 1\n", (1, 3)),
        (C, "    return 1;\n", (1, 3)),
        (SQL, "SELECT 1;\n", (0, 2)),
        (LISP, "(defun f () 1)\n", (0, 2)),
        (MATLAB, "y = 2;\n", (0, 2)),
        (C_COMMENT, "int x = 2;\n", (0, 2)),
        (HTML, "<b>hi</b>\n", (1, 3)),
        (OCAML, "let x = 3\n", (0, 2)),
    ],
    ids=["hash", "slashes", "dashes", "semicolons", "percent", "c-comment", "html", "ocaml"],
)
def test_one_block_in_each_comment_syntax(code: str, content: str, lines: tuple[int, int]) -> None:
    (block,) = find_blocks(code)
    assert (block.index, block.start_line, block.end_line, block.content) == (0, *lines, content)


def test_several_blocks_in_order_with_zero_based_marker_lines() -> None:
    blocks = find_blocks(TWO)
    assert [(b.index, b.start_line, b.end_line, b.content) for b in blocks] == [
        (0, 1, 3, "b\n"),
        (1, 5, 8, "d\ne\n"),
    ]


def test_an_empty_block_has_empty_content() -> None:
    (block,) = find_blocks("# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n")
    assert block.content == ""


@pytest.mark.parametrize(
    "line",
    [
        'print("EVOLVE-BLOCK-START")',
        "    'EVOLVE-BLOCK-END',",
        "x = 1  # EVOLVE-BLOCK-START",
        "# EVOLVE-BLOCK-STARTED here",
        "#pragma EVOLVE-BLOCK-END",
        "# the EVOLVE-BLOCK-START marker",
    ],
)
def test_the_token_after_code_or_words_is_not_a_marker(line: str) -> None:
    assert marker_of(line) is None
    assert not has_marker(f"a\n{line}\nb\n")
    assert len(find_blocks(f"{line}\n{PYTHON}{line}\n")) == 1


@pytest.mark.parametrize(
    ("line", "marker"),
    [
        ("# EVOLVE-BLOCK-START", "EVOLVE-BLOCK-START"),
        ("\t//EVOLVE-BLOCK-END   ", "EVOLVE-BLOCK-END"),
        ("EVOLVE-BLOCK-START", "EVOLVE-BLOCK-START"),
        ("<!--EVOLVE-BLOCK-END-->\r\n", "EVOLVE-BLOCK-END"),
        ("! EVOLVE-BLOCK-START (Fortran)", "EVOLVE-BLOCK-START"),
    ],
)
def test_marker_lines_are_recognised_liberally(line: str, marker: str) -> None:
    assert marker_of(line) == marker


def test_line_numbers_count_newlines_only() -> None:
    code = "a\x0cb\n# EVOLVE-BLOCK-START\nx\x0c\n# EVOLVE-BLOCK-END\n"
    (block,) = find_blocks(code)
    assert (block.start_line, block.end_line, block.content) == (1, 3, "x\x0c\n")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("x = 1\n", "prog: no EVOLVE-BLOCK-START … EVOLVE-BLOCK-END region found"),
        ("", "prog: no EVOLVE-BLOCK-START"),
        ("x\n# EVOLVE-BLOCK-END\n", "prog:2: EVOLVE-BLOCK-END without a matching EVOLVE-BLOCK-START"),
        (PYTHON + "// EVOLVE-BLOCK-END\n", "prog:6: EVOLVE-BLOCK-END without a matching"),
        ("# EVOLVE-BLOCK-START\nx\n", "prog:1: EVOLVE-BLOCK-START is never closed by EVOLVE-BLOCK-END"),
        (
            "# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n",
            "prog:2: EVOLVE-BLOCK-START inside the block opened on line 1",
        ),
    ],
    ids=["none", "empty", "end-first", "extra-end", "unclosed", "nested"],
)
def test_marker_errors_name_source_and_line(code: str, message: str) -> None:
    with pytest.raises(BlockError) as caught:
        find_blocks(code, source="prog")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_outside_blocks_interleaves_with_contents_to_the_program() -> None:
    outside = outside_blocks(TWO)
    contents = [b.content for b in find_blocks(TWO)]
    assert outside == [
        "a\n# EVOLVE-BLOCK-START\n",
        "# EVOLVE-BLOCK-END\nc\n// EVOLVE-BLOCK-START\n",
        "// EVOLVE-BLOCK-END\nf",
    ]
    assert outside[0] + contents[0] + outside[1] + contents[1] + outside[2] == TWO


def test_replace_keeps_everything_outside_blocks_byte_identical() -> None:
    new = replace_block_contents(TWO, ["new", "new2\nmore\n"])
    assert new == (
        "a\n# EVOLVE-BLOCK-START\nnew\n# EVOLVE-BLOCK-END\nc\n"
        "// EVOLVE-BLOCK-START\nnew2\nmore\n// EVOLVE-BLOCK-END\nf"
    )
    assert outside_blocks(new) == outside_blocks(TWO)
    assert [b.content for b in find_blocks(new)] == ["new\n", "new2\nmore\n"]


def test_replace_with_empty_content_leaves_the_markers_adjacent() -> None:
    assert (
        replace_block_contents(PYTHON, [""])
        == "import math\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\nprint(x)\n"
    )


def test_replace_ends_content_with_the_programs_newline() -> None:
    crlf = PYTHON.replace("\n", "\r\n")
    assert replace_block_contents(crlf, ["x = 2"]) == crlf.replace("x = 1", "x = 2")


def test_replace_round_trips_unchanged_contents() -> None:
    for code in (PYTHON, C, HTML, TWO):
        assert replace_block_contents(code, [b.content for b in find_blocks(code)]) == code


def test_replace_needs_one_content_per_block() -> None:
    with pytest.raises(BlockError, match="expected 1 block contents, got 2"):
        replace_block_contents(PYTHON, ["a", "b"])


def test_replace_refuses_content_with_a_marker_line() -> None:
    with pytest.raises(BlockError, match="block 2 contains an EVOLVE-BLOCK marker line"):
        replace_block_contents(TWO, ["b\n", "d\n# EVOLVE-BLOCK-END\n"])


def test_a_large_program_scans_in_one_pass() -> None:
    filler = "".join(f"v{i} = {i}\n" for i in range(50_000))
    code = filler + "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n" + filler
    (block,) = find_blocks(code)
    assert (block.start_line, block.content) == (50_000, "x = 1\n")
    assert replace_block_contents(code, ["x = 2\n"]) == code.replace("\nx = 1\n", "\nx = 2\n")
