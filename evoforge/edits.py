"""Parse a model's answer into edits and apply them inside the EVOLVE blocks only.

Two answer shapes: SEARCH/REPLACE blocks (``<<<<<<< SEARCH`` / ``=======`` / ``>>>>>>> REPLACE``,
several per answer, free text around them) and fenced full rewrites of the block contents. A
SEARCH is matched exactly first, then line by line ignoring trailing whitespace and a uniform
indentation offset; it must fall inside one block. Every rejection is an EditError whose short
message is shown to the model next time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from evoforge.blocks import END, START, Block, find_blocks, replace_block_contents
from evoforge.errors import BlockError, EditError

_DIFF = re.compile(
    r"^<{7} SEARCH[ \t]*\n(.*?)^={7}[ \t]*\n(.*?)^>{7} REPLACE[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_FENCE = re.compile(r"^```[^\n`]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class SearchReplace:
    search: str
    replace: str


@dataclass(frozen=True)
class ParsedEdit:
    kind: Literal["diff", "rewrite"]
    replacements: tuple[SearchReplace, ...] = ()
    rewrite: tuple[str, ...] = ()


def _parse_diffs(text: str) -> ParsedEdit | None:
    pairs = tuple(SearchReplace(m.group(1), m.group(2)) for m in _DIFF.finditer(text))
    return ParsedEdit("diff", replacements=pairs) if pairs else None


def _parse_rewrite(text: str) -> ParsedEdit | None:
    """The longest fenced code block: its blocks' contents if it has markers, else one block's content."""
    fences = [m.group(1) for m in _FENCE.finditer(text) if m.group(1).strip()]
    if not fences:
        return None
    code = max(fences, key=len)
    if START in code:
        try:
            return ParsedEdit("rewrite", rewrite=tuple(b.content for b in find_blocks(code, "the answer")))
        except BlockError:
            return None
    return ParsedEdit("rewrite", rewrite=(code,))


def parse_response(text: str, mode: Literal["diff", "rewrite"] = "diff") -> ParsedEdit | None:
    """The edit in a model's answer, preferring the configured mode; None when nothing is parseable."""
    order = (_parse_diffs, _parse_rewrite) if mode == "diff" else (_parse_rewrite, _parse_diffs)
    for parse in order:
        edit = parse(text)
        if edit is not None:
            return edit
    return None


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= 80 else line[:77] + "..."


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _fuzzy_spans(content: str, search: str) -> list[tuple[int, int, str, str]]:
    """Line-aligned matches ignoring trailing whitespace and a uniform indentation offset.

    Returns (start, end, search_indent, found_indent) character spans in ``content``.
    """
    wanted = [line.rstrip() for line in search.strip("\n").splitlines()]
    if not wanted:
        return []
    lines = content.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    first = next(line for line in wanted if line.strip())
    spans = []
    for i in range(len(lines) - len(wanted) + 1):
        window = [line.rstrip() for line in lines[i : i + len(wanted)]]
        base = next(w for w, s in zip(window, wanted, strict=True) if s.strip()) if any(window) else ""
        found_indent, search_indent = _indent(base), _indent(first)
        if all(
            (w.strip() == "" and s.strip() == "")
            or (
                w.startswith(found_indent)
                and s.startswith(search_indent)
                and w[len(found_indent) :] == s[len(search_indent) :]
            )
            for w, s in zip(window, wanted, strict=True)
        ):
            spans.append((offsets[i], offsets[i + len(wanted)], search_indent, found_indent))
    return spans


def _reindent(text: str, old: str, new: str) -> str:
    if old == new:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        if line.strip() and line.startswith(old):
            line = new + line[len(old) :]
        out.append(line)
    return "".join(out)


def _apply_one(contents: list[str], blocks: list[Block], full_code: str, edit: SearchReplace) -> None:
    label = _first_line(edit.search)
    if not edit.search.strip():
        raise EditError("a SEARCH section is empty; copy the lines to change from the current program")
    if START in edit.replace or END in edit.replace:
        raise EditError("a REPLACE section contains an EVOLVE-BLOCK marker; markers must not change")
    exact = [(i, c.count(edit.search)) for i, c in enumerate(contents) if edit.search in c]
    total = sum(n for _, n in exact)
    if total == 1:
        index = exact[0][0]
        contents[index] = contents[index].replace(edit.search, edit.replace, 1)
        return
    if total > 1:
        raise EditError(f"SEARCH '{label}' appears {total} times; include more lines to make it unique")
    fuzzy = [(i, span) for i, c in enumerate(contents) for span in _fuzzy_spans(c, edit.search)]
    if len(fuzzy) > 1:
        raise EditError(f"SEARCH '{label}' appears {len(fuzzy)} times; include more lines to make it unique")
    if len(fuzzy) == 1:
        index, (start, end, search_indent, found_indent) = fuzzy[0]
        replacement = _reindent(edit.replace, search_indent, found_indent)
        if replacement and not replacement.endswith("\n") and contents[index][end - 1 : end] == "\n":
            replacement += "\n"
        contents[index] = contents[index][:start] + replacement + contents[index][end:]
        return
    if edit.search in full_code or _fuzzy_spans(full_code, edit.search):
        raise EditError(f"SEARCH '{label}' touches code outside the EVOLVE blocks, which must not change")
    raise EditError(f"SEARCH '{label}' does not match the current program; copy the lines exactly")


def apply_edit(code: str, edit: ParsedEdit) -> str:
    """The child program, or EditError saying why the edit cannot be applied."""
    blocks = find_blocks(code)
    if edit.kind == "rewrite":
        if len(edit.rewrite) != len(blocks):
            raise EditError(f"the rewrite has {len(edit.rewrite)} block(s); the program has {len(blocks)}")
        if any(START in c or END in c for c in edit.rewrite):
            raise EditError("the rewrite contains an EVOLVE-BLOCK marker inside a block")
        contents = list(edit.rewrite)
    else:
        contents = [block.content for block in blocks]
        for replacement in edit.replacements:
            _apply_one(contents, blocks, code, replacement)
    child = replace_block_contents(code, contents)
    if child == code:
        raise EditError("the edit leaves the program unchanged")
    return child
