"""Deduplication: children equivalent to a program already evaluated are not evaluated again.

**Structural** (``dedup.structural``): a child whose code equals an evaluated program's after
normalisation is recorded as a failed generation of kind ``duplicate`` naming that program
(``duplicate_of``), and is not evaluated. ``exact`` compares the text (evoforge's behaviour before
normalisation existed, the default); ``normalized`` compares Python by its syntax tree without
comments, docstrings and formatting, with the local variables of each function renamed in order of
first use, and other languages by their tokens without comments and whitespace. A failed generation
rather than a program: the child *is* the earlier program (nothing the interpreter sees differs), so
a second record would add a twin to the archive and nothing else.

**Functional** (``dedup.functional``): when the evaluator defines ``fingerprint(program_path) -> str``
(outputs on fixed probe inputs, cheap), it runs in the sandbox before the evaluation. ``reuse``: a
child whose fingerprint an evaluated program has is stored as a program of its own (its code
differs, and so may its features and descendants) with that program's evaluation and
``duplicate_of`` naming it, and is not evaluated; ``evaluate``: it is evaluated anyway, and equal
fingerprints with different scores count as a *collision* (the fingerprint is too weak); ``off``:
no fingerprint. The structural check comes first, so a structural twin never runs ``fingerprint``.

Reproducibility: only a twin older than the window (``CodeIndex``) counts; it has finished whatever
the timing, so a seeded run makes the same choices at any concurrency.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any, Literal

from evoforge.config_base import Strict
from evoforge.records import code_digest


class DedupConfig(Strict):
    """Which equivalent children are not evaluated again (docs/search.md)."""

    structural: Literal["exact", "normalized", "off"] = "normalized"
    functional: Literal["reuse", "evaluate", "off"] = "reuse"  # only with an evaluator's fingerprint()


# Names whose renaming would change what a function does: it reads its own namespace.
_INTROSPECTION = frozenset({"locals", "vars", "eval", "exec", "dir", "globals"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _own_nodes(scope: ast.AST) -> Iterable[ast.AST]:
    """The nodes of ``scope``'s own namespace: its body, not nested functions, classes or comprehensions."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (*_SCOPES, *_COMPREHENSIONS)):
            stack.extend(ast.iter_child_nodes(node))


def _bound_elsewhere(function: ast.AST, subtree: list[ast.AST]) -> set[str]:
    """Names bound in ``function``'s subtree (its nodes, ``subtree``) by something other than a plain
    variable: parameters, nested scopes' own variables, ``def``/``class``/``import``/``except ... as``/
    ``match`` names, ``global``/``nonlocal`` declarations. Renaming a local that shares one of these
    would be unsound."""
    names: set[str] = set()
    for node in subtree:
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        if node is not function and isinstance(node, (*_SCOPES, *_COMPREHENSIONS)):
            names.update(
                n.id for n in _own_nodes(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
            )
    return names


def _rename_locals(function: ast.FunctionDef | ast.AsyncFunctionDef, number: int) -> None:
    """Rename the plain local variables of ``function`` to ``<number:k>`` in order of first use.

    A placeholder is no identifier, so it never meets a real name. Functions that read their own
    namespace (``locals()``, ``eval``...) or bind a local's name some other way are left as they are.
    Each child the run makes passes here, so the subtree is walked once, and not at all for a
    function without locals.
    """
    assigned = {
        n.id for n in _own_nodes(function) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    }
    if not assigned:
        return
    subtree = list(ast.walk(function))
    names = [n for n in subtree if isinstance(n, ast.Name)]
    if {n.id for n in names} & _INTROSPECTION:
        return
    arguments = function.args
    outside = [*function.decorator_list, *arguments.defaults, *arguments.kw_defaults, function.returns]
    outside += [a.annotation for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    outer = {n.id for part in outside if part is not None for n in ast.walk(part) if isinstance(n, ast.Name)}
    if assigned & (_bound_elsewhere(function, subtree) | outer):  # defaults are the caller's names
        return
    order: dict[str, str] = {}
    for node in names:
        if node.id in assigned:
            node.id = order.setdefault(node.id, f"<{number}:{len(order)}>")


def _strip_docstrings(nodes: list[ast.AST]) -> None:
    """Drop statements that are only a string (docstrings, string comments): they do nothing."""
    for node in nodes:
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            kept = [
                s
                for s in body
                if not (
                    isinstance(s, ast.Expr)
                    and isinstance(s.value, ast.Constant)
                    and isinstance(s.value.value, str)
                )
            ]
            node.body = kept or [ast.Pass()]


def python_form(code: str) -> str | None:
    """The normal form of Python ``code`` (see the module docstring), or None if it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    nodes = list(ast.walk(tree))  # what stripping removes or adds is never a function: one walk serves both
    _strip_docstrings(nodes)
    functions = [n for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if any(isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) for n in nodes):  # else no locals
        for number, function in enumerate(functions):
            _rename_locals(function, number)
    try:
        return ast.dump(tree)
    except RecursionError:
        return None


# Comment syntax by file extension; a string literal is matched first so that a marker inside it stays.
_STRING = r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\''
_COMMENTS = {
    "c_like": r"//[^\n]*|/\*.*?\*/",
    "hash": r"#[^\n]*",
    "dashes": r"--[^\n]*",
}
_SYNTAX = {
    **dict.fromkeys(
        (
            "c",
            "h",
            "cc",
            "cpp",
            "cxx",
            "hpp",
            "cu",
            "java",
            "js",
            "ts",
            "go",
            "rs",
            "cs",
            "kt",
            "swift",
            "scala",
        ),
        "c_like",
    ),
    **dict.fromkeys(("py", "sh", "bash", "rb", "pl", "r", "jl", "yaml", "yml", "toml"), "hash"),
    **dict.fromkeys(("lua", "sql", "hs", "elm", "ada"), "dashes"),
}
_TOKEN = re.compile(rf"{_STRING}|\w+|[^\w\s]")


def token_form(code: str, filename: str) -> str:
    """``code``'s tokens, one space apart, without the comments of its language (by extension)."""
    syntax = _SYNTAX.get(PurePath(filename).suffix.lstrip(".").lower())
    if syntax is not None:
        pattern = re.compile(rf"({_STRING})|{_COMMENTS[syntax]}", re.DOTALL)
        code = pattern.sub(lambda m: m.group(1) or " ", code)
    return " ".join(_TOKEN.findall(code))


def structural_key(code: str, filename: str, mode: str) -> str:
    """The key under which structurally identical programs meet (``mode`` as ``dedup.structural``)."""
    if mode == "exact":
        return code_digest(code)
    form = python_form(code) if filename.endswith(".py") else None
    return code_digest(form if form is not None else token_form(code, filename))


def finished(earlier: int, submission: int, window: int) -> bool:
    """Whether submission ``earlier`` has finished when ``submission`` is made, whatever the timing:
    it is older than the window, or it is the initial program (evaluated before the run starts)."""
    return earlier == 0 or earlier <= submission - window


class CodeIndex:
    """The earliest submission and program of each structural key: the structural duplicate check.

    Only a twin older than the window counts: it is certain to have finished whatever the timing,
    which keeps runs reproducible at any concurrency; a twin still inside the window is evaluated
    again (rare).
    """

    def __init__(self, window: int, filename: str = "program.py", mode: str = "exact") -> None:
        self._window = window
        self._filename = filename
        self._mode = mode
        self._first: dict[str, int] = {}
        self._programs: dict[int, int] = {}  # submission -> program id

    def _key(self, code: str) -> str:
        return structural_key(code, self._filename, self._mode)

    def note(self, code: str, submission: int, program_id: int | None = None) -> None:
        """``code`` was made by ``submission`` (and stored as ``program_id``, when given)."""
        key = self._key(code)
        self._first[key] = min(submission, self._first.get(key, submission))
        if program_id is not None:
            self.stored(submission, program_id)

    def stored(self, submission: int, program_id: int) -> None:
        """The program that submission ``submission`` produced (the reference a twin gets)."""
        self._programs[submission] = program_id

    def twin(self, code: str, submission: int) -> int | None:
        """The program ``code`` repeats, if it is older than the window; notes ``code`` either way.

        None when ``dedup.structural`` is ``off``, and when the twin's submission stored no program
        (cancelled when a run stopped): then the child is evaluated.
        """
        if self._mode == "off":
            return None
        key = self._key(code)
        first = self._first.get(key)
        self._first[key] = min(submission, first if first is not None else submission)
        if first is None or not finished(first, submission, self._window):
            return None
        return self._programs.get(first)


class FingerprintIndex:
    """The earliest submission (and its program) with each fingerprint; the functional check.

    Like ``CodeIndex``, only programs older than the window count, and of several with one fingerprint
    the earliest submission is the reference, so the reference does not depend on timing.
    """

    def __init__(self, window: int) -> None:
        self._window = window
        self._first: dict[str, tuple[int, int]] = {}  # fingerprint -> (submission, program id)

    def add(self, fingerprint: str, submission: int, program_id: int) -> None:
        known = self._first.get(fingerprint)
        if known is None or submission < known[0]:
            self._first[fingerprint] = (submission, program_id)

    def match(self, fingerprint: str, submission: int) -> int | None:
        """The program id of an earlier program with ``fingerprint``, old enough to count."""
        known = self._first.get(fingerprint)
        if known is None or not finished(known[0], submission, self._window):
            return None
        return known[1]


def same_result(a_ok: bool, a_score: float, b_ok: bool, b_score: float) -> bool:
    """Whether two evaluations agree (a collision is equal fingerprints that do not)."""
    if a_ok != b_ok:
        return False
    return a_score == b_score or math.isclose(a_score, b_score, rel_tol=1e-9, abs_tol=1e-12)


def dedup_summary(
    structural_duplicates: int, rows: Iterable[tuple[str, int | None, bool, float]]
) -> dict[str, Any]:
    """Evaluations saved and collisions, from the failed-generation count of kind ``duplicate`` and
    the fingerprint rows (fingerprint, duplicate_of, ok, score) in submission order."""
    reused = matched = collisions = 0
    first: dict[str, tuple[bool, float]] = {}
    for fingerprint, duplicate_of, ok, score in rows:
        if duplicate_of is not None:
            reused += 1
            continue
        if fingerprint in first:
            matched += 1
            collisions += not same_result(*first[fingerprint], ok, score)
        else:
            first[fingerprint] = (ok, score)
    return {
        "saved_structural": structural_duplicates,
        "saved_functional": reused,
        "fingerprint_matches_evaluated": matched,
        "collisions": collisions,
    }


__all__ = [
    "CodeIndex",
    "DedupConfig",
    "FingerprintIndex",
    "dedup_summary",
    "python_form",
    "same_result",
    "structural_key",
    "token_form",
]
