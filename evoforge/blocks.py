"""Locate, validate and reassemble EVOLVE blocks in any language's comment syntax.

A marker is a line holding ``EVOLVE-BLOCK-START`` or ``EVOLVE-BLOCK-END`` after nothing but comment
punctuation and spaces (``#``, ``//``, ``--``, ``;``, ``%``, ``/*``, ``<!--`` …), so the same rule
works for Python, C, Haskell, SQL, Lisp or HTML. Everything outside the blocks is frozen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from evoforge.errors import BlockError

START = "EVOLVE-BLOCK-START"
END = "EVOLVE-BLOCK-END"
_MARKER = re.compile(r"^[\s#/*;%!<>\-{}(|]*(EVOLVE-BLOCK-(?:START|END))\b")


@dataclass(frozen=True)
class Block:
    """One evolvable region: marker line numbers (0-based) and the text strictly between them."""

    index: int
    start_line: int
    end_line: int
    content: str


def marker_of(line: str) -> str | None:
    """START or END if ``line`` is a marker line, else None."""
    match = _MARKER.match(line)
    return match.group(1) if match else None


def find_blocks(code: str, source: str = "program") -> list[Block]:
    """All blocks of ``code`` in order; BlockError names ``source`` and the line when markers are wrong."""
    lines = code.splitlines(keepends=True)
    blocks: list[Block] = []
    open_line: int | None = None
    for number, line in enumerate(lines):
        marker = marker_of(line)
        if marker == START:
            if open_line is not None:
                raise BlockError(
                    f"{source}:{number + 1}: {START} inside the block opened on line {open_line + 1}"
                )
            open_line = number
        elif marker == END:
            if open_line is None:
                raise BlockError(f"{source}:{number + 1}: {END} without a matching {START}")
            content = "".join(lines[open_line + 1 : number])
            blocks.append(Block(len(blocks), open_line, number, content))
            open_line = None
    if open_line is not None:
        raise BlockError(f"{source}:{open_line + 1}: {START} is never closed by {END}")
    if not blocks:
        raise BlockError(f"{source}: no {START} … {END} region found")
    return blocks


def replace_block_contents(code: str, contents: Sequence[str]) -> str:
    """Rebuild ``code`` with block i's content replaced by ``contents[i]``; markers and the rest unchanged."""
    blocks = find_blocks(code)
    if len(contents) != len(blocks):
        raise BlockError(f"expected {len(blocks)} block contents, got {len(contents)}")
    lines = code.splitlines(keepends=True)
    pieces: list[str] = []
    cursor = 0
    for block, content in zip(blocks, contents, strict=True):
        pieces.extend(lines[cursor : block.start_line + 1])
        if content and not content.endswith("\n"):
            content += "\n"
        pieces.append(content)
        cursor = block.end_line
    pieces.extend(lines[cursor:])
    return "".join(pieces)
