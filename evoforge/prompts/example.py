"""A filled-in edit example made from a real line of the current program, for the ``format_last`` answer.

Small models copy the shape of the last example they saw; an abstract placeholder ("lines copied exactly
from the current program") is copied as prose, a real line of the program as code. The example line is
the first line inside the EVOLVE blocks that holds a number and occurs once (so that a SEARCH for it is
unique), else the first such line with code; the changed line doubles its first number (a zero becomes
one), the smallest edit the "change one number or one line" intent asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evoforge.blocks import find_blocks
from evoforge.errors import BlockError

_NUMBER = re.compile(r"(?<![\w.])(\d+)(\.\d+)?(?![\w.])")


@dataclass(frozen=True)
class EditExample:
    """``line`` of the program (indentation kept) and ``changed``, that line with one number changed
    (empty when the line holds no number); ``first``, the first block's first line of code, tells the
    model where a rewrite of the block starts; ``blocks`` is how many blocks the program has."""

    line: str
    changed: str
    first: str
    blocks: int


def _changed(line: str) -> str:
    """``line`` with its first number doubled (0 becomes 1), written as it was (int or decimal)."""
    match = _NUMBER.search(line)
    if match is None:
        return ""
    whole, fraction = match.group(1), match.group(2)
    if fraction:
        digits = len(fraction) - 1
        value = float(whole + fraction) * 2 or 1.0
        text = f"{value:.{digits}f}"
    else:
        text = str(int(whole) * 2 or 1)
    return line[: match.start()] + text + line[match.end() :]


def edit_example(code: str) -> EditExample | None:
    """The example for ``code``; None when its blocks hold no line of code (or the markers are broken)."""
    try:
        blocks = find_blocks(code)
    except BlockError:
        return None
    lines = [line for block in blocks for line in block.content.split("\n")]
    code_lines = [line.rstrip() for line in lines if line.strip()]
    if not code_lines:
        return None
    first_block = [line.rstrip() for line in blocks[0].content.split("\n") if line.strip()] or code_lines
    unique = [line for line in code_lines if code_lines.count(line) == 1]
    numbered = [line for line in unique if _NUMBER.search(line)]
    line = (numbered or unique or code_lines)[0]
    return EditExample(line, _changed(line), first_block[0], len(blocks))
