"""Multi-file tasks: a program is one text, a *bundle* of files, each after a header naming its path.

A bundle reads as the ``head``/``tail`` tools print several files, which models know::

    ==> initial_program.py <==
    import helper
    ...
    ==> helper.py <==
    # EVOLVE-BLOCK-START
    ...

Keeping the program one text keeps everything that handles code unchanged: the store, duplicate
detection, features, diffs, and the prompt, which shows each file under its path. The EVOLVE blocks of
a bundle are those of its files in order, so a plain SEARCH/REPLACE or a rewrite of the whole bundle
applies as it does to one file. A path line before a SEARCH/REPLACE block (``helper.py``,
```` `helper.py` ````, ``File: helper.py``, ``==> helper.py <==``) limits it to that file's blocks, which
resolves a SEARCH text that two files share; a fence after a path line rewrites that file alone. The
sandbox writes every file of a bundle at its path before the evaluator runs (``split``).

A single-file task never sees any of this: its program is the file's text, as before.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from evoforge import edits, fences
from evoforge.blocks import START, find_blocks, has_marker, marker_of, replace_block_contents, split_lines
from evoforge.errors import BlockError, EditError, TaskError
from evoforge.evaluation.launcher_handle import Inputs
from evoforge.task import Task, read_text

if TYPE_CHECKING:
    from evoforge.evaluation.backend import EvaluationBackend
    from evoforge.records import Evaluation

_HEADER = re.compile(r"==> (\S(?:.*\S)?) <==\n?")
_DECORATION = "`*#'\"=<> \t"
_PATH_PREFIX = re.compile(r"(?i)(?:file|path|filename)\s*:\s*")
RESERVED = ("evaluator.py", "config.yaml", "context.md")
# Added to a multi-file task's context, so that the prompt (built elsewhere) says how to name a file.
EDIT_RULE = (
    "The program is several files, each after a line '==> path <=='. Before each SEARCH/REPLACE block, "
    "write the path of the file it changes on a line of its own; to rewrite a file, write its path on "
    "the line before the code fence. Never add or change a '==> path <==' line."
)


def header(path: str) -> str:
    return f"==> {path} <==\n"


def is_bundle(code: str) -> bool:
    return _HEADER.fullmatch(code.split("\n", 1)[0] + "\n") is not None


def pack(files: Mapping[str, str]) -> str:
    """One text holding ``files`` in order; a file gets a final newline if it has none.

    EditError when a file holds a line that would read as a header (the split would be ambiguous).
    """
    parts = []
    for path, text in files.items():
        for line in split_lines(text):
            if _HEADER.fullmatch(line):
                raise EditError(f"{path}: the line {line.strip()!r} would read as a file header; change it")
        parts.append(header(path) + text + ("" if text.endswith("\n") or not text else "\n"))
    return "".join(parts)


def unpack(code: str) -> dict[str, str]:
    """The files of a bundle, by path, in order; ``{}`` for a program that is not a bundle."""
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in split_lines(code):
        match = _HEADER.fullmatch(line)
        if match:
            current = files.setdefault(match.group(1), [])
        elif current is None:
            return {}
        else:
            current.append(line)
    return {path: "".join(lines) for path, lines in files.items()}


def split(code: str, entry: str) -> tuple[str, dict[str, str]]:
    """What the sandbox writes: the entry program's text and the other files by path."""
    files = unpack(code)
    if not files:
        return code, {}
    text = files.pop(entry, "")
    return text, files


def write_files(code: str, folder: Path) -> Path:
    """Write the files of a bundle under ``folder`` (paths checked when the task was loaded)."""
    for path, text in unpack(code).items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


def check_path(path: str, directory: str) -> str:
    """``path`` as a clean relative path inside the task folder, or TaskError saying why not."""
    pure = PurePosixPath(path)
    if not path.strip() or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise TaskError(f"{directory}: files: {path!r} must be a relative path inside the task folder")
    clean = str(pure)
    if clean in RESERVED or not _HEADER.fullmatch(header(clean)):
        raise TaskError(f"{directory}: files: {path!r} cannot be evolved (a task file or an odd name)")
    return clean


def with_files(task: Task, paths: Sequence[str]) -> Task:
    """``task`` whose program is the bundle of its entry program and ``paths`` (config ``files``).

    The entry program comes first whether listed or not; every file is checked like the entry (UTF-8,
    balanced markers); a file without blocks is shown to the model but never changes. No ``paths``
    (or only the entry): the task as it is.
    """
    entry = task.program_filename
    directory = str(task.directory)
    others = [p for p in dict.fromkeys(check_path(p, directory) for p in paths) if p != entry]
    if not others:
        return task
    files = {entry: task.initial_code}
    for path in others:
        location = task.directory / path
        if not location.is_file():
            raise TaskError(f"{location}: not found (listed in files:)")
        files[path] = read_text(location, "a file of the task")
        _check_markers(files[path], str(location))
    try:
        code = pack(files)
    except EditError as error:
        raise TaskError(f"{directory}/{error}") from None
    context = "\n\n".join(filter(None, (task.context, EDIT_RULE)))
    return dataclasses.replace(task, initial_code=code, files=tuple(others), context=context)


def _check_markers(text: str, source: str) -> None:
    """Balanced, unnested markers (a file may hold none)."""
    if has_marker(text):
        find_blocks(text, source)


def block_count(text: str) -> int:
    return sum(marker_of(line) == START for line in split_lines(text))


# --- edits that name their file ------------------------------------------------------------------------


def named_path(line: str, paths: Sequence[str]) -> str | None:
    """The path ``line`` names when it is nothing but a path (decorated or not), else None."""
    text = line.strip().strip(_DECORATION).rstrip(":").strip()
    text = _PATH_PREFIX.sub("", text, count=1).strip(_DECORATION)
    text = text.removeprefix("./")
    return text if text in paths else None


def replacement_paths(answer: str, paths: Sequence[str]) -> list[str | None]:
    """For each complete SEARCH/REPLACE block of ``answer`` in order, the file its last path line names.

    Counts blocks as ``edits.parse_response`` does (an unfinished block is dropped when the next
    SEARCH starts); a path line holds until the next one.
    """
    named: list[str | None] = []
    path: str | None = None
    state = "outside"  # outside, search, replace
    for line in answer.replace("\r\n", "\n").split("\n"):
        mark = edits.diff_marker(line)
        if mark == "search":
            state = "search"
        elif state == "outside":
            path = named_path(line, paths) or path
        elif state == "search" and mark == "divider":
            state = "replace"
        elif state == "replace" and mark == "replace":
            named.append(path)
            state = "outside"
    return named


def file_rewrites(answer: str, files: Mapping[str, str]) -> dict[str, str]:
    """New texts of the files a path line names right before a closed fence, from ``answer``.

    Fences are read as ``edits`` reads them (``fences``: one reading of fences, not two).
    """
    rewrites: dict[str, str] = {}
    path: str | None = None
    opener: str | None = None
    body: list[str] = []
    for line in answer.replace("\r\n", "\n").split("\n"):
        if opener is not None:
            if fences.closes(line, opener):
                if path is not None:
                    rewrites[path] = "".join(f"{row}\n" for row in body)
                opener, path = None, None
            else:
                body.append(line)
            continue
        opener, body = fences.fence_opener(line), []
        if opener is None and line.strip():
            path = named_path(line, list(files))
    return rewrites


def apply_answer(code: str, edit: edits.ParsedEdit, answer: str) -> str:
    """The child of ``code`` from a parsed answer: ``edits.apply_edit``, made aware of a bundle's files."""
    files = unpack(code)
    if not files:
        return edits.apply_edit(code, edit)
    contents = [block.content for block in find_blocks(code)]
    counts = [block_count(text) for text in files.values()]
    spans = dict(zip(files, _spans(counts), strict=True))
    rewrites = file_rewrites(answer, files) if edit.kind == "rewrite" else {}
    if rewrites:
        for path, text in rewrites.items():
            start, stop = spans[path]
            new = _rewritten_blocks(path, text, stop - start)
            contents[start:stop] = new
    elif edit.kind == "rewrite":
        return _checked(code, edits.apply_edit(code, edit), files)
    else:
        count = len(edit.replacements)
        paths = (replacement_paths(answer, list(files)) + [None] * count)[:count]
        for position, (replacement, named) in enumerate(zip(edit.replacements, paths, strict=True)):
            where = f" (edit {position + 1} of {count})" if count > 1 else ""
            replacement, path = _headed(replacement, files, named)
            if path is None:
                edits.apply_replacement(contents, replacement, code, where)
                continue
            start, stop = spans[path]
            scoped = contents[start:stop]
            if not scoped:
                raise EditError(f"{path} has no EVOLVE block; it cannot change")
            edits.apply_replacement(scoped, replacement, files[path], f" in {path}{where}")
            contents[start:stop] = scoped
    child = replace_block_contents(code, contents)
    if child == code:
        raise EditError("the edit leaves the program unchanged")
    return _checked(code, child, files)


def _headed(
    replacement: edits.SearchReplace, files: Mapping[str, str], path: str | None
) -> tuple[edits.SearchReplace, str | None]:
    """A SEARCH that starts with its file's header line (copied with the code): the header names the
    file and is dropped from the SEARCH, and from the REPLACE if it starts with it too."""
    first, _, search = replacement.search.partition("\n")
    match = _HEADER.fullmatch(first + "\n")
    if match is None or match.group(1) not in files or not search.strip():
        return replacement, path
    replace = replacement.replace.removeprefix(first + "\n")
    return edits.SearchReplace(search, replace), match.group(1)


def _spans(counts: list[int]) -> list[tuple[int, int]]:
    spans, start = [], 0
    for count in counts:
        spans.append((start, start + count))
        start += count
    return spans


def _rewritten_blocks(path: str, text: str, expected: int) -> list[str]:
    """The block contents of a file's rewrite, which must keep its number of blocks."""
    try:
        blocks = find_blocks(text, f"the rewrite of {path}")
    except BlockError as error:
        if expected == 1 and not block_count(text):
            return [text]  # the new content of the file's one block
        raise EditError(str(error)) from None
    if len(blocks) != expected:
        raise EditError(f"the rewrite of {path} has {len(blocks)} EVOLVE block(s); the file has {expected}")
    return [block.content for block in blocks]


def _checked(parent: str, child: str, files: Mapping[str, str]) -> str:
    """``child``, once its files are the parent's (an edit cannot add a header line, hence a file)."""
    if list(unpack(child)) != list(files):
        raise EditError("the edit adds a line of the form '==> path <==', which separates files; remove it")
    return child


async def evaluate(
    sandbox: EvaluationBackend, task: Task, code: str, inputs: Inputs | None = None, call: str = "evaluate"
) -> Evaluation:
    """Evaluate a program of ``task``: a bundle's files written beside its entry program, and search
    mode's ``inputs`` (solution file, environment) given; ``call`` as in ``Sandbox.evaluate``."""
    entry, files = split(code, task.program_filename)
    extra = inputs or Inputs()
    return await sandbox.evaluate(
        entry, task.program_filename, files={**files, **extra.files}, env=extra.env, call=call
    )
