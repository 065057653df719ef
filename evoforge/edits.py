"""Parse a model's answer into an edit and apply it inside the EVOLVE blocks only.

Two answer shapes:

- **SEARCH/REPLACE blocks**: a line ``<<<<<<< SEARCH``, the lines to find, a line ``=======``, the new
  lines, a line ``>>>>>>> REPLACE`` (seven marker characters, or five to nine: small models miscount;
  spaces around a marker are ignored). Several per answer; prose and Markdown fences around or between
  them are ignored. A section whose first line opens a fence and whose last line closes it (a model that
  wrapped the SEARCH or REPLACE text in a fence) is unwrapped; the price is that a block whose own text
  starts and ends with fence lines cannot be edited that way — only Markdown-like programs have such
  blocks.
- **Fenced rewrites**: Markdown code fences (backticks or tildes, three or more). The longest fence that
  contains EVOLVE markers gives the new contents of every block; failing that, the longest fence is the
  new content of a single-block program. Longest, not last: models often add a short usage snippet after
  the code or quote a fragment before it. An unclosed fence is ignored when the answer was cut at the
  token limit (it may end mid-line). fences.py lists the other shapes small models write that are
  taken: a fence left open by an answer that ended on its own (``complete``), an answer that starts
  inside the fence its prompt opened (``opened``), one marker line of two, the whole program copied.

Application. A SEARCH must lie inside one block's content. It is first matched exactly, as whole lines
(an occurrence must start a line, so ``total = 0`` never edits ``subtotal = 0``); failing that, line by
line ignoring trailing whitespace, blank lines around it and a uniform indentation offset, in which case
the REPLACE text is re-indented by the same offset. A SEARCH found more than once is ambiguous.
Replacements apply in order, so a later SEARCH sees the earlier edits. Every rejection is an EditError
whose short message is shown to the model next time.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from evoforge.blocks import find_blocks, has_marker, outside_blocks, replace_block_contents, split_lines
from evoforge.errors import BlockError, EditError
from evoforge.fences import (
    closes,
    fence_opener,
    fenced_bodies,
    inside_lone_marker,
    joined,
    without_frozen_copy,
)

logger = logging.getLogger(__name__)

_DIFF_MARKER = re.compile(r"(<{5,9} ?SEARCH)|(={5,9})|>{5,9} ?REPLACE")
_LABEL_CHARS = 80


@dataclass(frozen=True)
class SearchReplace:
    """Replace the lines ``search`` (copied from the parent) by ``replace``; both end with a newline."""

    search: str
    replace: str


@dataclass(frozen=True)
class ParsedEdit:
    """A parsed answer: SEARCH/REPLACE pairs (``diff``) or one new content per block (``rewrite``)."""

    kind: Literal["diff", "rewrite"]
    replacements: tuple[SearchReplace, ...] = ()
    rewrite: tuple[str, ...] = ()


# --- parsing -------------------------------------------------------------------------------------------


def _section(lines: list[str]) -> str:
    """A SEARCH or REPLACE section's text, unwrapped when one fence encloses all of it."""
    if len(lines) >= 2 and (opener := fence_opener(lines[0])) and closes(lines[-1], opener):
        lines = lines[1:-1]
    return joined(lines)


def diff_marker(line: str) -> Literal["search", "divider", "replace"] | None:
    """Which SEARCH/REPLACE marker ``line`` is: seven marker characters, or five to nine (small models
    miscount them: ``====== `` for ``=======``), spaces around ignored; None for any other line."""
    match = _DIFF_MARKER.fullmatch(line.strip())
    if match is None:
        return None
    return "search" if match.group(1) else "divider" if match.group(2) else "replace"


def _parse_diffs(text: str, complete: bool = False) -> tuple[SearchReplace, ...]:
    """Every complete SEARCH/REPLACE block; an unfinished one is dropped when the next SEARCH starts.

    A last block whose REPLACE end is missing ends with the answer when the answer ended on its own
    (``complete``); cut at the token limit, it may have lost lines and is dropped."""
    pairs: list[SearchReplace] = []
    search: list[str] | None = None
    replace: list[str] | None = None
    for line in text.split("\n"):
        mark = diff_marker(line)
        if mark == "search":
            search, replace = [], None
        elif search is None:
            continue
        elif replace is None:
            if mark == "divider":
                replace = []
            else:
                search.append(line)
        elif mark == "replace":
            pairs.append(SearchReplace(_section(search), _section(replace)))
            search, replace = None, None
        else:
            replace.append(line)
    if complete and search is not None and replace is not None:
        while replace and not replace[-1].strip():  # the blank lines the answer ended with
            replace.pop()
        pairs.append(SearchReplace(_section(search), _section(replace)))
    return tuple(pairs)


def _code_fences(text: str, opened: bool, complete: bool) -> list[str]:
    """The non-empty fence bodies of an answer that hold no SEARCH marker, by the first rule that finds one:
    the closed fences; for an answer to a prompt that ended with a fence opener (``opened``) and that
    does not start with one, the fence that the answer closes; for an answer that ended on its own
    (``complete``: not cut at the token limit), a fence it opened and left open at its end. Prose
    without a fence line stays no edit, whatever the prompt ended with."""
    closed, left_open = fenced_bodies(text)
    tries = [closed]
    first = next((line for line in text.split("\n") if line.strip()), "")
    if opened and fence_opener(first) is None:
        tries.append(fenced_bodies("```\n" + text)[0][:1])
    if complete and left_open is not None:
        tries.append([left_open])
    for bodies in tries:
        fences = [
            body
            for body in bodies
            if body.strip() and not any(diff_marker(line) == "search" for line in body.split("\n"))
        ]
        if fences:
            return fences
    return []


def _parse_rewrite(text: str, opened: bool = False, complete: bool = False) -> ParsedEdit | None:
    fences = _code_fences(text, opened, complete)
    if not fences:
        return None
    marked = [body for body in fences if has_marker(body)]
    code = max(marked or fences, key=len)
    if not marked:
        return ParsedEdit("rewrite", rewrite=(code,))
    try:
        return ParsedEdit("rewrite", rewrite=tuple(block.content for block in find_blocks(code)))
    except BlockError:
        return ParsedEdit("rewrite", rewrite=(inside_lone_marker(code),))


def parse_response(
    text: str, mode: Literal["diff", "rewrite"] = "diff", *, opened: bool = False, complete: bool = False
) -> ParsedEdit | None:
    """The edit in a model's answer, preferring ``mode``'s shape and falling back to the other one.

    ``opened``: the prompt ended with a fence opener (``ends_with_fence_opener``), so the answer may
    start inside that fence. ``complete``: the answer ended on its own, not at the token limit, so a
    fence still open at its end, or a last REPLACE section without its end marker, is whole. None when
    the answer holds neither a SEARCH/REPLACE block nor a non-empty fence.
    """
    text = text.replace("\r\n", "\n")
    pairs = _parse_diffs(text, complete)
    diff = ParsedEdit("diff", replacements=pairs) if pairs else None
    if mode == "diff" and diff is not None:
        return diff
    return _parse_rewrite(text, opened, complete) or diff


# --- application ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Match:
    """Where a SEARCH matched in a block's content, and the indentation change it implies."""

    block: int
    start: int
    end: int
    add: str = ""
    remove: str = ""


def _exact_starts(content: str, search: str) -> list[int]:
    """Offsets where ``search`` occurs in ``content`` starting a line (overlaps included)."""
    starts = []
    at = content.find(search)
    while at != -1:
        if at == 0 or content[at - 1] == "\n":
            starts.append(at)
        at = content.find(search, at + 1)
    return starts


def _core_lines(search: str) -> list[str]:
    """The SEARCH lines without trailing whitespace and without blank lines before or after them."""
    lines = [line.rstrip() for line in search.split("\n")]
    first = next(i for i, line in enumerate(lines) if line)
    last = max(i for i, line in enumerate(lines) if line)
    return lines[first : last + 1]


def _offset(searched: str, found: str) -> tuple[str, str] | None:
    """(add, remove): the indentation change that turns ``searched`` into ``found``, if it is one."""
    if found.endswith(searched):
        return found[: len(found) - len(searched)], ""
    if searched.endswith(found):
        return "", searched[: len(searched) - len(found)]
    return None


def _shift(line: str, add: str, remove: str) -> str | None:
    """``line`` moved by the offset; None when it is indented less than the indentation to remove."""
    if not line:
        return line
    if not line.startswith(remove):
        return None
    return add + line[len(remove) :]


def _loose_matches(content: str, wanted: list[str], block: int) -> list[_Match]:
    """Line-aligned matches of ``wanted`` ignoring trailing whitespace and a uniform indentation offset.

    Only lines whose text equals the first wanted line's are tried, so a scan costs one pass over
    ``content`` plus the length of ``wanted`` per candidate.
    """
    lines = split_lines(content)
    plain = [line.rstrip() for line in lines]
    head = wanted[0].lstrip()
    head_indent = wanted[0][: len(wanted[0]) - len(head)]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    matches = []
    for k in range(len(plain) - len(wanted) + 1):
        line = plain[k]
        if not line.endswith(head):
            continue
        indent = line[: len(line) - len(head)]
        offset = None if indent.strip() else _offset(head_indent, indent)
        if offset is not None and all(
            _shift(want, *offset) == have
            for want, have in zip(wanted, plain[k : k + len(wanted)], strict=True)
        ):
            matches.append(_Match(block, starts[k], starts[k + len(wanted)], *offset))
    return matches


def _reindent(text: str, add: str, remove: str) -> str:
    """``text`` moved by the offset; lines indented less than ``remove`` lose all their indentation."""
    out = []
    for line in split_lines(text):
        if line.strip():
            line = add + (line[len(remove) :] if line.startswith(remove) else line.lstrip(" \t"))
        out.append(line)
    moved = "".join(out)
    return moved if not moved or moved.endswith("\n") else moved + "\n"


def _label(search: str) -> str:
    first = next((line.strip() for line in search.split("\n") if line.strip()), "")
    if len(first) > _LABEL_CHARS:
        first = first[: _LABEL_CHARS - 1] + "…"
    return f"SEARCH '{first}'"


def apply_replacement(contents: list[str], edit: SearchReplace, code: str, where: str) -> None:
    """Apply one SEARCH/REPLACE to the block contents in place, or raise EditError saying why not."""
    if not edit.search.strip():
        raise EditError(f"a SEARCH section{where} is empty; copy the lines to change from the program")
    label = _label(edit.search) + where
    if has_marker(edit.search):
        raise EditError(f"{label} includes an EVOLVE-BLOCK marker line; edit only code between the markers")
    if has_marker(edit.replace):
        raise EditError(f"the REPLACE of {label} adds an EVOLVE-BLOCK marker line; markers must not change")
    size, wanted = len(edit.search), _core_lines(edit.search)
    exact = [_Match(i, at, at + size) for i, c in enumerate(contents) for at in _exact_starts(c, edit.search)]
    matches = exact or [m for i, c in enumerate(contents) for m in _loose_matches(c, wanted, i)]
    if len(matches) > 1:
        raise EditError(f"{label} appears {len(matches)} times in the EVOLVE blocks; include more context")
    if not matches:
        if any(_exact_starts(f, edit.search) or _loose_matches(f, wanted, -1) for f in outside_blocks(code)):
            raise EditError(f"{label} touches code outside the EVOLVE blocks, which must not change")
        raise EditError(f"{label} was not found in the EVOLVE blocks; copy the lines exactly")
    (match,) = matches
    replacement = edit.replace
    if not exact:
        logger.debug("%s matched ignoring whitespace (indent +%r -%r)", label, match.add, match.remove)
        replacement = _reindent(replacement, match.add, match.remove)
    content = contents[match.block]
    contents[match.block] = content[: match.start] + replacement + content[match.end :]


def _check_rewrite(rewrite: tuple[str, ...], expected: int) -> None:
    if len(rewrite) != expected:
        raise EditError(
            f"the rewrite has {len(rewrite)} EVOLVE block(s) but the program has {expected}; "
            "answer with the whole program, markers included"
        )
    for content in rewrite:
        if has_marker(content):
            try:
                find_blocks(content, "the rewrite")
            except BlockError as error:
                raise EditError(str(error)) from None
            raise EditError("the rewrite puts EVOLVE-BLOCK markers inside a block")


def apply_edit(code: str, edit: ParsedEdit) -> str:
    """The child program: ``code`` with ``edit`` applied inside its blocks, or EditError saying why not."""
    contents = [block.content for block in find_blocks(code)]
    if edit.kind == "rewrite":
        _check_rewrite(edit.rewrite, len(contents))
        contents = list(edit.rewrite)
        if len(contents) == 1 and not has_marker(contents[0]):
            contents = [without_frozen_copy(contents[0], code)]
    else:
        count = len(edit.replacements)
        for position, replacement in enumerate(edit.replacements, start=1):
            apply_replacement(
                contents, replacement, code, f" (edit {position} of {count})" if count > 1 else ""
            )
    child = replace_block_contents(code, contents)
    if child == code:
        raise EditError("the edit leaves the program unchanged")
    return child
