"""The numeric literals inside a program's EVOLVE blocks, found with ``tokenize``, and new values put back.

Tokens, not regular expressions: a number inside a string, a comment or a name (``x2``) is not a
literal, and ``1_000``, ``0x1f`` or ``1e-3`` are read as Python reads them. A program that does not
tokenize as Python has no literals here.
"""

from __future__ import annotations

import ast
import io
import math
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass

from evoforge.blocks import find_blocks, split_lines
from evoforge.errors import BlockError

# After these tokens a negative value must be parenthesised: -2 ** 2 is not (-2) ** 2.
_BINDS_TIGHTER = frozenset({"**", ".", "[", "("})


@dataclass(frozen=True)
class NumericLiteral:
    """One number of the program: its character span, its value, and whether it is an int."""

    start: int
    end: int
    value: float
    is_int: bool
    parenthesise_negative: bool


def find_literals(code: str, include_ints: bool = True) -> list[NumericLiteral]:
    """The real numeric literals inside the EVOLVE blocks of ``code``, in order (complex ones skipped)."""
    try:
        blocks = find_blocks(code)
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type != tokenize.NL]
    except (BlockError, tokenize.TokenError, SyntaxError):
        return []
    line_starts = [0]
    for line in split_lines(code):
        line_starts.append(line_starts[-1] + len(line))
    inside = {line + 1 for block in blocks for line in range(block.start_line + 1, block.end_line)}
    literals = []
    for index, token in enumerate(tokens):
        if token.type != tokenize.NUMBER or token.start[0] not in inside:
            continue
        try:
            value = ast.literal_eval(token.string)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, complex) or (isinstance(value, int) and not include_ints):
            continue
        if not math.isfinite(float(value)):
            continue
        following = tokens[index + 1].string if index + 1 < len(tokens) else ""
        literals.append(
            NumericLiteral(
                start=line_starts[token.start[0] - 1] + token.start[1],
                end=line_starts[token.end[0] - 1] + token.end[1],
                value=float(value),
                is_int=isinstance(value, int),
                parenthesise_negative=following in _BINDS_TIGHTER,
            )
        )
    return literals


def format_number(value: float, as_int: bool, parenthesise_negative: bool = False) -> str:
    """Python source for ``value``: an int literal when ``as_int``, else the shortest exact float."""
    text = str(round(value)) if as_int else repr(float(value))
    return f"({text})" if parenthesise_negative and text.startswith("-") else text


def substitute(
    code: str, literals: Sequence[NumericLiteral], values: Sequence[float], keep_ints: bool = True
) -> str:
    """``code`` with each literal replaced by its new value (ints rounded when ``keep_ints``)."""
    pieces, cursor = [], 0
    for literal, value in zip(literals, values, strict=True):
        pieces += (
            code[cursor : literal.start],
            format_number(value, literal.is_int and keep_ints, literal.parenthesise_negative),
        )
        cursor = literal.end
    pieces.append(code[cursor:])
    return "".join(pieces)
