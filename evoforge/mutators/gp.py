"""``gp``: genetic-programming edits of Python EVOLVE blocks, without a model call.

A child is one edit of the parent: perturb or replace a numeric constant, swap a comparison or an
arithmetic operator, delete, duplicate or swap statements, change a ``range(...)`` loop bound; or a
crossover that takes a whole block, a function, or a range of a function's statements from an
inspiration. Edits replace exact spans of the block's text, so the rest keeps its comments and
layout. Every child parses, grows the parent by little (``MAX_GROWTH``), and differs structurally
from every program gp has seen (evaluated or proposed): equivalent children are not evaluated twice.

A told program is not parsed when told (a resume tells every stored program again): it waits under
its constants key, a digest of its numeric literals that structurally equal programs share, and is
hashed only when a child with the same key turns up, so gp answers exactly as if it had hashed it.
A long waiting program is kept deflated against the first one (a few hundred bytes at most).
"""

from __future__ import annotations

import ast
import math
import random
import zlib
from collections.abc import Callable
from typing import Any

from evoforge.blocks import find_blocks, replace_block_contents
from evoforge.config import GPConfig
from evoforge.errors import BlockError
from evoforge.mutators.base import Feedback, Mutator, Proposal, ProposalRequest
from evoforge.mutators.pyast import (
    BlockTree,
    constants_key,
    indentation,
    parses,
    reindent,
    replace_span,
    structural_hash,
)
from evoforge.records import code_digest

MAX_GROWTH = (1.2, 100)  # a child may be at most 1.2 x its longest source plus 100 characters
MAX_DEFERRED_BYTES = 64 * 2**20  # told code kept unhashed; past it, told programs are hashed at once
DEFLATE_FROM = 512  # told code at least this long waits deflated

_COMPARE_FAMILIES = (
    (ast.Lt, ast.LtE, ast.Gt, ast.GtE),
    (ast.Eq, ast.NotEq),
    (ast.Is, ast.IsNot),
    (ast.In, ast.NotIn),
)
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_ARITHMETIC_TARGETS = (ast.Add, ast.Sub, ast.Mult, ast.Div)  # never introduce ** (huge numbers)
_BINDING = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Attribute, ast.Await)

Edit = Callable[[BlockTree, random.Random], str | None]  # returns the block's new content


def _expression(tree: BlockTree, node: ast.expr, new: ast.expr) -> str:
    """The block with ``node`` replaced by ``new``, parenthesised where precedence could bind it."""
    parent = tree.parents.get(id(node))
    text = ast.unparse(new)
    binds = (
        isinstance(parent, _BINDING)
        or (isinstance(parent, ast.Call) and parent.func is node)
        or (isinstance(parent, ast.Subscript) and parent.value is node)
    )
    if binds and (
        isinstance(new, ast.BinOp | ast.UnaryOp | ast.Compare | ast.BoolOp) or text.startswith("-")
    ):
        text = f"({text})"
    return replace_span(tree.content, *tree.span(node), text)


def _numbers(tree: BlockTree) -> list[ast.Constant]:
    return [
        node
        for node in ast.walk(tree.tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
        and not (tree.shift and node is tree.tree.body[0].test)  # type: ignore[attr-defined]
    ]


def _new_number(value: float, others: list[float], rng: random.Random) -> int | float:
    """A nearby value (same type), or another constant of the block."""
    if others and rng.random() < 0.25:
        pick = rng.choice(others)
        return round(pick) if isinstance(value, int) else float(pick)
    if isinstance(value, int):
        return rng.choice((value + 1, value - 1, value * 2, value // 2, -value))
    scaled = value * math.exp(rng.gauss(0.0, 0.3)) if value else rng.gauss(0.0, 1.0)
    return -scaled if rng.random() < 0.1 else scaled


def perturb_constant(tree: BlockTree, rng: random.Random) -> str | None:
    numbers = _numbers(tree)
    if not numbers:
        return None
    node = rng.choice(numbers)
    others = [n.value for n in numbers if n.value != node.value]
    return _expression(tree, node, ast.Constant(_new_number(node.value, others, rng)))


def swap_comparison(tree: BlockTree, rng: random.Random) -> str | None:
    compares = [node for node in ast.walk(tree.tree) if isinstance(node, ast.Compare)]
    if not compares:
        return None
    node = rng.choice(compares)
    index = rng.randrange(len(node.ops))
    family = next(f for f in _COMPARE_FAMILIES if isinstance(node.ops[index], f))
    choices = [op for op in family if not isinstance(node.ops[index], op)]
    ops = list(node.ops)
    ops[index] = rng.choice(choices)()
    return _expression(tree, node, ast.Compare(node.left, ops, node.comparators))


def swap_arithmetic(tree: BlockTree, rng: random.Random) -> str | None:
    sites = [
        node
        for node in ast.walk(tree.tree)
        if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, _ARITHMETIC)
    ]
    if not sites:
        return None
    node = rng.choice(sites)
    op = rng.choice([op for op in _ARITHMETIC_TARGETS if not isinstance(node.op, op)])()
    if isinstance(node, ast.AugAssign):
        text = ast.unparse(ast.AugAssign(node.target, op, node.value))
        return replace_span(tree.content, *tree.span(node), text)
    return _expression(tree, node, ast.BinOp(node.left, op, node.right))


def change_loop_bound(tree: BlockTree, rng: random.Random) -> str | None:
    bounds = [
        arg
        for node in ast.walk(tree.tree)
        if isinstance(node, ast.For)
        and isinstance(node.iter, ast.Call)
        and isinstance(node.iter.func, ast.Name)
        and node.iter.func.id == "range"
        for arg in node.iter.args
    ]
    if not bounds:
        return None
    arg = rng.choice(bounds)
    if isinstance(arg, ast.Constant) and isinstance(arg.value, int) and not isinstance(arg.value, bool):
        new: ast.expr = ast.Constant(
            rng.choice((arg.value + 1, arg.value - 1, arg.value * 2, arg.value // 2))
        )
    else:
        new = ast.BinOp(arg, rng.choice((ast.Add(), ast.Sub())), ast.Constant(1))
    return replace_span(tree.content, *tree.span(arg), ast.unparse(new))


def edit_statements(tree: BlockTree, rng: random.Random) -> str | None:
    """Delete, duplicate or swap whole-line statements of one statement list (definitions only swap)."""
    lists = [
        (body, ranges)
        for body in tree.statement_lists()
        if None not in (ranges := [tree.line_range(stmt) for stmt in body])
    ]
    if not lists:
        return None
    body, ranges = rng.choice(lists)  # type: ignore[assignment]
    lines = tree.lines
    index = rng.randrange(len(ranges))
    first, end = ranges[index]
    definition = isinstance(body[index], ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    operations = (() if definition else ("delete", "duplicate")) + (("swap",) if len(ranges) > 1 else ())
    if not operations:
        return None
    operation = rng.choice(operations)
    if operation == "delete":
        replacement = [indentation(lines[first]) + "pass\n"] if len(ranges) == 1 else []
        new_lines = lines[:first] + replacement + lines[end:]
    elif operation == "duplicate":
        new_lines = lines[:end] + lines[first:end] + lines[end:]
    else:
        other = index + 1 if index + 1 < len(ranges) else index - 1
        (a, a_end), (b, b_end) = sorted((ranges[index], ranges[other]))
        new_lines = lines[:a] + lines[b:b_end] + lines[a_end:b] + lines[a:a_end] + lines[b_end:]
    return "".join(_terminated(new_lines))


def _terminated(lines: list[str]) -> list[str]:
    """Every line ends with a newline (a moved last line might not)."""
    return [line if line.endswith("\n") else line + "\n" for line in lines]


MUTATIONS: tuple[Edit, ...] = (
    perturb_constant,
    swap_comparison,
    swap_arithmetic,
    change_loop_bound,
    edit_statements,
)


def _functions(tree: BlockTree) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {
        node.name: node
        for node in ast.walk(tree.tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and tree.line_range(node) is not None
    }


def cross_function(tree: BlockTree, donor: BlockTree, rng: random.Random) -> str | None:
    """Replace one function, or a range of its statements, by the same-named function's in ``donor``."""
    mine, theirs = _functions(tree), _functions(donor)
    shared = sorted(name for name in mine if name in theirs)
    if not shared:
        return None
    name = rng.choice(shared)
    target, source = mine[name], theirs[name]
    lines = tree.lines
    if rng.random() < 0.5:
        first, end = tree.line_range(target)  # type: ignore[misc]
        d_first, d_end = donor.line_range(source)  # type: ignore[misc]
        taken = reindent(donor.lines[d_first:d_end], indentation(lines[first]))
    else:
        ranges = [tree.line_range(stmt) for stmt in target.body]
        d_ranges = [donor.line_range(stmt) for stmt in source.body]
        if None in ranges or None in d_ranges:
            return None
        i = rng.randrange(len(d_ranges))
        j = rng.randrange(i, len(d_ranges)) + 1
        first = ranges[min(i, len(ranges) - 1)][0]  # type: ignore[index]
        end = ranges[min(j, len(ranges)) - 1][1]  # type: ignore[index]
        indent = indentation(lines[ranges[0][0]])  # type: ignore[index]
        taken = reindent(donor.lines[d_ranges[i][0] : d_ranges[j - 1][1]], indent)  # type: ignore[index]
    return "".join(_terminated(lines[:first] + taken + lines[end:]))


def _parsed(content: str, trees: dict[str, BlockTree | None]) -> BlockTree | None:
    if content not in trees:
        trees[content] = BlockTree.parse(content)
    return trees[content]


class GPMutator(Mutator):
    """Cheap structural variation for Python programs: mutations and crossover on the syntax tree."""

    name = "gp"

    def __init__(self, config: GPConfig) -> None:
        self._config = config
        self._seen: set[str] = set()  # structural hashes of programs evaluated or proposed
        self._deferred: dict[int, list[str | bytes]] = {}  # constants key -> told code not hashed yet
        self._deferred_bytes = 0
        self._zdict: bytes | None = None  # the first long code deferred: what the others deflate against
        self._proposed: dict[int, str] = {}  # submission -> hash of its child, until told
        self._remembered: set[str] = set()  # digests of the texts hashed into _seen (parents recur)

    def ask(self, request: ProposalRequest) -> Proposal:
        rng = request.rng
        parent = request.parent.code
        donors = [p.code for p in (*request.top, *request.diverse) if p.code != parent]
        self._remember(parent, *donors)
        if not parses(parent):
            return Proposal(code=None, failure_kind="no_edit", reason="gp edits Python programs only")
        try:
            count = len(find_blocks(parent))
        except BlockError:
            return Proposal(code=None, failure_kind="no_edit", reason="the parent has no valid EVOLVE block")
        trees: dict[str, BlockTree | None] = {}  # the tries of one ask edit the same few blocks
        for _ in range(self._config.max_tries):
            donor = rng.choice(donors) if donors and rng.random() < self._config.crossover_rate else None
            child = self._child(parent, donor, rng.randrange(count), rng, trees)
            if child is None:
                continue
            digest = structural_hash(child)
            longest = max(len(parent), len(donor or ""))
            if digest is None or len(child) > longest * MAX_GROWTH[0] + MAX_GROWTH[1]:
                continue
            if not self._is_new(child, digest):
                continue
            self._seen.add(digest)
            self._proposed[request.submission] = digest
            return Proposal(code=child)
        return Proposal(
            code=None,
            failure_kind="duplicate",
            reason=f"gp found no new parseable child in {self._config.max_tries} tries",
        )

    def _child(
        self,
        parent: str,
        donor: str | None,
        index: int,
        rng: random.Random,
        trees: dict[str, BlockTree | None],
    ) -> str | None:
        """One edit of block ``index`` of ``parent`` (a crossover when ``donor`` is given); ``trees``
        caches parsed blocks by content (edits read a tree, never change it)."""
        contents = [block.content for block in find_blocks(parent)]
        tree = _parsed(contents[index], trees)
        if tree is None:
            return None
        if donor is None:
            content = rng.choice(MUTATIONS)(tree, rng)
        else:
            donor_contents = [block.content for block in find_blocks(donor)]
            if len(donor_contents) != len(contents):
                return None
            donor_tree = _parsed(donor_contents[index], trees)
            if donor_tree is None:
                return None
            whole = rng.random() < 1 / 3
            content = donor_contents[index] if whole else cross_function(tree, donor_tree, rng)
        if content is None or content == contents[index]:
            return None
        contents[index] = content
        try:
            child = replace_block_contents(parent, contents)
        except BlockError:
            return None
        return child if parses(child) else None

    def _remember(self, *codes: str) -> None:
        for code in codes:
            text = code_digest(code)
            if text in self._remembered:
                continue  # parsing is most of an ask's cost, and the same parents come back
            self._remembered.add(text)
            digest = structural_hash(code)
            if digest is not None:
                self._seen.add(digest)

    def _defer(self, code: str) -> None:
        """Know ``code`` as seen: hashed when a child with its constants key turns up (or now)."""
        key = constants_key(code) if self._deferred_bytes < MAX_DEFERRED_BYTES else None
        if key is None:
            self._remember(code)
            return
        if len(code) >= DEFLATE_FROM:
            data = code.encode("utf-8", "surrogatepass")
            if self._zdict is None:
                self._zdict = data
            deflater = zlib.compressobj(1, zdict=self._zdict)
            kept: str | bytes = deflater.compress(data) + deflater.flush()
        else:
            kept = code
        self._deferred.setdefault(key, []).append(kept)
        self._deferred_bytes += len(kept)

    def _inflate(self, kept: str | bytes) -> str:
        if isinstance(kept, str):
            return kept
        inflater = zlib.decompressobj(zdict=self._zdict or b"")
        return (inflater.decompress(kept) + inflater.flush()).decode("utf-8", "surrogatepass")

    def _is_new(self, child: str, digest: str) -> bool:
        """True when no program seen is structurally ``child`` (whose hash is ``digest``)."""
        if digest in self._seen or not self._deferred:
            return digest not in self._seen
        key = constants_key(child)
        if key is None:  # no key to look under: hash every deferred program
            kept = [code for waiting in self._deferred.values() for code in waiting]
            self._deferred.clear()
        else:
            kept = self._deferred.pop(key, [])
        self._deferred_bytes -= sum(map(len, kept))
        self._remember(*map(self._inflate, kept))
        return digest not in self._seen

    def tell(self, feedback: Feedback) -> None:
        self._proposed.pop(feedback.submission, None)
        if feedback.program is not None:
            self._defer(feedback.program.code)

    def state(self) -> dict[str, Any]:
        """Children in flight: a resume re-learns every told program but not these."""
        return {"proposed": {str(s): digest for s, digest in self._proposed.items()}}

    def restore(self, state: dict[str, Any]) -> None:
        self._proposed = {int(s): digest for s, digest in state["proposed"].items()}
        self._seen.update(self._proposed.values())
