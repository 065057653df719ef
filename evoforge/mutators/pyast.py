"""Python syntax trees of EVOLVE block contents, with positions as character offsets into the block.

gp edits a block by replacing exact spans of its text, so comments and formatting outside the
edited node survive. A block that is indented (the body of a function, say) is parsed inside an
``if 1:`` wrapper that shifts line numbers by one and leaves columns alone.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
import sys
from dataclasses import dataclass

from evoforge.blocks import split_lines

_WRAPPER = "if 1:\n"


def structural_hash(code: str) -> str | None:
    """A digest of the normalised syntax tree (comments, spacing, parentheses ignored); None when
    ``code`` is not Python. Equal digests mean equivalent programs."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    return hashlib.blake2b(ast.dump(tree).encode(), digest_size=16).hexdigest()


# Comments and string literals, skipped whole: a quote always opens a string where the scan reaches
# it, whatever its prefix. ``\r\n`` may follow a backslash inside a string.
_ESCAPE = r"\\(?:\r\n|.)"
_STRINGS = (
    r"'''[^'\\]*(?:(?:" + _ESCAPE + r"|'(?!''))[^'\\]*)*'''",
    r'"""[^"\\]*(?:(?:' + _ESCAPE + r'|"(?!""))[^"\\]*)*"""',
    r"'[^'\\\r\n]*(?:" + _ESCAPE + r"[^'\\\r\n]*)*'",
    r'"[^"\\\r\n]*(?:' + _ESCAPE + r'[^"\\\r\n]*)*"',
)
# Before Python 3.12 an f-string is read as one string token (its replacement fields may not hold its
# own quote, a backslash or a comment); since PEP 701 it may, so the scan cannot skip it as a string.
_F_STRINGS_NEST = sys.version_info >= (3, 12)
_F_STRING = re.compile(r"(?<!\w)(?:[fF][rR]?|[rR][fF])['\"]")
# One scan: a comment or a string matches whole and captures nothing; a number is a NUMBER token as
# ``tokenize`` reads it (the same spans for valid code), never the tail of a name (a word or non-ASCII
# character before it) nor after a dot. The lookahead makes the scan skip other characters fast.
_SCAN = re.compile(
    r"(?=[#'\"rRbBuU.0-9])(?:#[^\r\n]*|[rRbBuU]{0,2}(?:" + "|".join(_STRINGS) + ")"
    r"|(?<![\w.\x80-\U0010ffff])(0[xXoObB][0-9a-fA-F_]+"
    r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9][0-9_]*)?[jJ]?))",
    re.DOTALL,
)


def constants_key(code: str) -> int | None:
    """A cheap necessary condition for structural equality, without parsing: a digest of the multiset
    of the numeric literals outside strings (f-strings included) and comments, ints and floats alike.
    Structurally equal programs have equal keys, so a program need only be hashed once another with
    its key turns up. None when the key is not known: an imaginary literal, or an f-string on Python
    3.12 and later."""
    if _F_STRINGS_NEST and _F_STRING.search(code):
        return None
    tokens = list(filter(None, _SCAN.findall(code)))
    try:
        values = sorted(map(float, tokens))
    except ValueError:  # 0x, 0o, 0b or an imaginary literal
        if any(token[-1] in "jJ" for token in tokens):
            return None
        values = sorted(map(_value, tokens))
    return hash(tuple(values))


def _value(token: str) -> float:
    """A real NUMBER token's value as a float, rounded as ``float`` rounds a decimal one."""
    if token[:2].lower() not in ("0x", "0o", "0b"):
        return float(token)
    try:
        return float(int(token, 0))
    except OverflowError:
        return math.inf


def parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class BlockTree:
    """One block's content and its syntax tree, with a map from node positions to offsets."""

    content: str
    tree: ast.Module
    shift: int  # lines added in front of the content to parse it
    parents: dict[int, ast.AST]  # id(node) -> parent node

    @classmethod
    def parse(cls, content: str) -> BlockTree | None:
        for shift, text in ((0, content), (1, _WRAPPER + content)):
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError):
                continue
            parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
            return cls(content, tree, shift, parents)
        return None

    @property
    def lines(self) -> list[str]:
        return split_lines(self.content)

    def offset(self, lineno: int, col_offset: int) -> int:
        """Character offset in ``content`` of an AST position (1-based line, UTF-8 byte column)."""
        lines = self.lines
        index = lineno - 1 - self.shift
        before = sum(len(line) for line in lines[:index])
        line = lines[index] if index < len(lines) else ""
        return before + len(line.encode()[:col_offset].decode(errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def line_range(self, stmt: ast.stmt) -> tuple[int, int] | None:
        """The 0-based content lines ``[first, last + 1)`` of a statement (decorators included), or
        None when it shares a line with other code (``a = 1; b = 2``)."""
        heads = [stmt, *getattr(stmt, "decorator_list", [])]
        first = min(heads, key=lambda node: node.lineno)
        start = self.offset(first.lineno, first.col_offset)  # type: ignore[attr-defined]
        line_start = self.offset(first.lineno, 0)  # type: ignore[attr-defined]
        end = self.offset(stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
        line_end = self.content.find("\n", end)
        rest = self.content[end : len(self.content) if line_end < 0 else line_end].strip()
        if self.content[line_start:start].strip() not in ("", "@") or (rest and not rest.startswith("#")):
            return None
        return first.lineno - 1 - self.shift, (stmt.end_lineno or stmt.lineno) - self.shift  # type: ignore[attr-defined]

    def statement_lists(self) -> list[list[ast.stmt]]:
        """Every list of sibling statements (bodies, else branches, handlers), outermost first."""
        root: ast.AST = self.tree.body[0] if self.shift else self.tree
        lists = []
        for node in ast.walk(root):
            for field in ("body", "orelse", "finalbody"):
                value = getattr(node, field, None)
                if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                    lists.append(value)
        return lists


def replace_span(text: str, start: int, end: int, replacement: str) -> str:
    return text[:start] + replacement + text[end:]


def indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def reindent(lines: list[str], indent: str) -> list[str]:
    """``lines`` moved to ``indent``: their common leading whitespace replaced, blank lines kept."""
    common = min((indentation(line) for line in lines if line.strip()), key=len, default="")
    return [indent + line[len(common) :] if line.strip() else line for line in lines]
