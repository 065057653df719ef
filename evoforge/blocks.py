"""Locate, validate and reassemble EVOLVE blocks in any language's comment syntax.

A marker is a line holding ``EVOLVE-BLOCK-START`` or ``EVOLVE-BLOCK-END`` after nothing but spaces and
comment punctuation (``#``, ``//``, ``--``, ``;``, ``%``, ``!``, ``/*``, ``(*``, ``<!--`` …), with anything
after the token (``*/``, ``-->``, a note). One rule thus serves Python, C, Haskell, SQL, Lisp, Fortran or
HTML without a table of languages. Letters or quotes before the token make it code, not a marker, so
``print("EVOLVE-BLOCK-START")`` or ``'EVOLVE-BLOCK-END',`` in a list never opens or closes a block.

A program is frozen text interleaved with block contents: ``outside[0] + contents[0] + outside[1] + …``.
The marker lines belong to the frozen text; only the contents may change.

Lines are split on ``\\n`` only (not on form feeds or other Unicode breaks), so line numbers match
what editors show and reassembly is byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

from evoforge.errors import BlockError

START = "EVOLVE-BLOCK-START"
END = "EVOLVE-BLOCK-END"
_TOKEN = "EVOLVE-BLOCK-"
_MARKER = re.compile(r"[^\w'\"`]*(EVOLVE-BLOCK-(?:START|END))(?!\w)")

Marker = Literal["EVOLVE-BLOCK-START", "EVOLVE-BLOCK-END"]


@dataclass(frozen=True)
class Block:
    """One evolvable region: its marker lines (0-based) and the text strictly between them."""

    index: int
    start_line: int
    end_line: int
    content: str


def split_lines(text: str) -> list[str]:
    """``text`` cut after each ``\\n``, newlines kept; ``"".join`` of the result is ``text``."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def marker_of(line: str) -> Marker | None:
    """Which marker ``line`` is, or None when it is not a marker line."""
    if _TOKEN not in line:  # fast path: almost every line
        return None
    match = _MARKER.match(line)
    return cast(Marker, match.group(1)) if match else None


def has_marker(text: str) -> bool:
    """Whether any line of ``text`` is a marker line."""
    return _TOKEN in text and any(marker_of(line) for line in text.split("\n"))


def _scan(code: str, source: str) -> tuple[list[str], list[Block]]:
    """The lines of ``code`` and its blocks; BlockError names ``source`` and the 1-based line."""
    lines = split_lines(code)
    blocks: list[Block] = []
    open_line: int | None = None
    for number, line in enumerate(lines):
        marker = marker_of(line)
        if marker == START:
            if open_line is not None:
                raise BlockError(
                    f"{source}:{number + 1}: {START} inside the block opened on line {open_line + 1}; "
                    "blocks cannot nest"
                )
            open_line = number
        elif marker == END:
            if open_line is None:
                raise BlockError(f"{source}:{number + 1}: {END} without a matching {START} before it")
            content = "".join(lines[open_line + 1 : number])
            blocks.append(Block(len(blocks), open_line, number, content))
            open_line = None
    if open_line is not None:
        raise BlockError(f"{source}:{open_line + 1}: {START} is never closed by {END}")
    if not blocks:
        raise BlockError(f"{source}: no {START} … {END} region found")
    return lines, blocks


def _frozen(lines: list[str], blocks: list[Block]) -> list[str]:
    cursor, segments = 0, []
    for block in blocks:
        segments.append("".join(lines[cursor : block.start_line + 1]))
        cursor = block.end_line
    segments.append("".join(lines[cursor:]))
    return segments


def find_blocks(code: str, source: str = "program") -> list[Block]:
    """All blocks of ``code`` in order; BlockError when there is none or the markers are unbalanced/nested."""
    return _scan(code, source)[1]


def outside_blocks(code: str, source: str = "program") -> list[str]:
    """The frozen text around the blocks, marker lines included: one more segment than there are blocks.

    A mutator that produces whole programs keeps the frozen parts iff this is equal for parent and child.
    """
    return _frozen(*_scan(code, source))


def replace_block_contents(code: str, contents: Sequence[str]) -> str:
    """``code`` with block i's content replaced by ``contents[i]``; everything else byte-identical.

    A non-empty content gets a final newline (the program's, ``\\r\\n`` or ``\\n``) so the END marker
    stays on its own line. BlockError when the count is wrong or a content holds a marker line.
    """
    lines, blocks = _scan(code, "program")
    if len(contents) != len(blocks):
        raise BlockError(f"expected {len(blocks)} block contents, got {len(contents)}")
    frozen = _frozen(lines, blocks)
    pieces = [frozen[0]]
    for block, content, after in zip(blocks, contents, frozen[1:], strict=True):
        if has_marker(content):
            raise BlockError(f"new content of block {block.index + 1} contains an EVOLVE-BLOCK marker line")
        if content and not content.endswith("\n"):
            content += "\r\n" if lines[block.start_line].endswith("\r\n") else "\n"
        pieces += (content, after)
    return "".join(pieces)
