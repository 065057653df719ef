"""Markdown code fences in model answers, and the shapes a small model gives a rewrite.

A fence opens with three or more backticks or tildes (an info string such as ``python`` allowed) and
closes with a line of at least as many of the same character. What small local models write, and
what is taken from it (each from real SmolLM2-135M answers, bench/RESULTS.md):

- a fence left open at the end of an answer that ended on its own (not at the token limit), when its
  opening line names a language: a bare fence line left open may be a closing fence whose opening the
  answer never wrote;
- an answer that starts inside a fence the prompt opened (its last line a fence opener);
- a fence with only one of the two marker lines: the side of it that is block content;
- a one-block rewrite that copied the code around the block too: an exact copy of that code is dropped.
"""

from __future__ import annotations

import re

from evoforge.blocks import START, marker_of, outside_blocks, split_lines

_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})[^`]*")


def fence_opener(line: str) -> str | None:
    """The fence characters if ``line`` opens a code fence (an info string such as ``python`` allowed)."""
    match = _FENCE_OPEN.fullmatch(line.rstrip())
    return match.group(1) if match else None


def closes(line: str, opener: str) -> bool:
    mark = line.strip()
    return len(mark) >= len(opener) and mark == opener[0] * len(mark)


def joined(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def fenced_bodies(text: str) -> tuple[list[str], str | None]:
    """The bodies of the closed code fences of ``text``, in order, and the body of a fence left open at
    the end if its opening line names a language (None otherwise): a bare fence line left open may as
    well be a closing fence whose opening the answer never wrote, with prose after it."""
    bodies: list[str] = []
    opener: str | None = None
    named = False
    body: list[str] = []
    for line in text.split("\n"):
        if opener is None:
            opener, body = fence_opener(line), []
            named = opener is not None and line.strip() != opener
        elif closes(line, opener):
            bodies.append(joined(body))
            opener = None
        else:
            body.append(line)
    return bodies, joined(body) if opener is not None and named else None


def ends_with_fence_opener(prompt: str) -> bool:
    """Whether ``prompt``'s last line opens a code fence: the model's answer then starts inside it."""
    return fence_opener(prompt.rstrip().rsplit("\n", 1)[-1]) is not None


def inside_lone_marker(code: str) -> str:
    """A fence with one marker line only (small models copy the START or the END marker and drop the
    other): the side of it that is block content, i.e. after a START or before an END. Any other
    unbalanced fence is kept whole, and apply_edit names the marker that is wrong."""
    lines = split_lines(code)
    markers = [(number, marker) for number, line in enumerate(lines) if (marker := marker_of(line))]
    if len(markers) != 1:
        return code
    ((number, marker),) = markers
    return "".join(lines[number + 1 :] if marker == START else lines[:number])


def _copied_prefix(lines: list[str], frozen: list[str]) -> int:
    """How many of ``lines`` a copy of the ``frozen`` lines takes up at their start (blank lines and
    trailing whitespace aside), then the blank lines after it; 0 when they do not start with a copy."""
    wanted = [line.rstrip() for line in frozen if line.strip()]
    if not wanted:
        return 0
    position = 0
    for want in wanted:
        while position < len(lines) and not lines[position].strip():
            position += 1
        if position == len(lines) or lines[position].rstrip() != want:
            return 0
        position += 1
    while position < len(lines) and not lines[position].strip():
        position += 1
    return position


def without_frozen_copy(content: str, code: str) -> str:
    """A one-block program's rewrite that copied the code around the block too (the whole program without
    its markers, as small models write it): only what lies between. Nothing but an exact copy of the
    frozen lines is taken away, so the code outside the block never changes."""
    before, after = outside_blocks(code)
    lines = split_lines(content)
    lines = lines[_copied_prefix(lines, split_lines(before)[:-1]) :]  # the START marker line left out
    lines.reverse()
    lines = lines[_copied_prefix(lines, split_lines(after)[1:][::-1]) :]
    lines.reverse()
    kept = "".join(lines)
    return kept if kept.strip() else content  # a copy of the frozen code alone is no block
