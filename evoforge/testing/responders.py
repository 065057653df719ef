"""Scripted answers computed from the prompt, for the scripted server and the demo.

They stand in for a language model where a test or the demo needs answers that depend on the
program being changed; they are deterministic so that runs replay exactly.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import random
import re
import threading
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Responder = Callable[[dict[str, Any]], str]


_HEADING = re.compile(r"^#{1,6}[^\n]*\bcurrent program\b[^\n]*$", re.MULTILINE | re.IGNORECASE)
_FENCED = re.compile(r"^(`{3,})[^\n`]*\n(.*?)\n?^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def current_program(request: dict[str, Any]) -> str | None:
    """The code in the first fence after the last "Current program" heading of the last user message."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    text = str(users[-1].get("content") or "") if users else ""
    headings = list(_HEADING.finditer(text))
    if not headings:
        return None
    fence = _FENCED.search(text, headings[-1].end())
    return fence.group(2) if fence else None


@dataclass(frozen=True)
class _Literal:
    """A numeric literal of the program: its whole line and its columns in that line."""

    line: str
    start: int
    end: int
    text: str


def block_literals(code: str) -> list[_Literal]:
    """The real and integer literals between EVOLVE-BLOCK-START and -END (not in comments or strings)."""
    lines = code.splitlines()
    inside, rows = False, set()
    for row, line in enumerate(lines):
        if "EVOLVE-BLOCK-START" in line:
            inside = True
        elif "EVOLVE-BLOCK-END" in line:
            inside = False
        elif inside:
            rows.add(row)
    found = []
    with contextlib.suppress(tokenize.TokenError, SyntaxError):  # keep what tokenized before an error
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            row = token.start[0] - 1
            if token.type == tokenize.NUMBER and row in rows and not token.string.lower().endswith("j"):
                found.append(_Literal(lines[row], token.start[1], token.end[1], token.string))
    return found


def _perturbed(literal: str, rng: random.Random) -> str:
    """A different literal of the same type: a float moved by ~30 %, an int by at least one."""
    value = ast.literal_eval(literal)
    if isinstance(value, float):
        text = repr(float(f"{value + rng.gauss(0.0, max(abs(value), 1.0) * 0.3):.6g}"))
        return text if text != repr(value) else repr(value + 0.1)
    step = max(1, round(abs(rng.gauss(0.0, max(abs(value), 1) * 0.3))))
    return str(value + rng.choice((-1, 1)) * step)


def tweak_constants_responder(seed: int = 0) -> Responder:
    """A responder that answers one SEARCH/REPLACE block perturbing a numeric literal of the program.

    It reads the current program from the prompt, picks a literal inside an EVOLVE block (on a line
    that occurs once, so the edit applies) and moves it; the choice comes from an RNG seeded by
    ``seed`` and a hash of the messages and the request's ``seed``, so the same request always gets
    the same answer and runs replay exactly. Without a program or a literal it answers prose only.
    """

    def respond(request: dict[str, Any]) -> str:
        code = current_program(request)
        literals = block_literals(code) if code else []
        padded = f"{code}\n"
        unique = [lit for lit in literals if padded.count(f"{lit.line}\n") == 1]
        if not unique:
            return "I see no numeric constant to change in this program, so I suggest no edit."
        content = json.dumps([request.get("messages"), request.get("seed")], sort_keys=True)
        rng = random.Random(f"{seed}:{hashlib.sha256(content.encode()).hexdigest()}")
        chosen = rng.choice(unique)
        new = _perturbed(chosen.text, rng)
        new_line = chosen.line[: chosen.start] + new + chosen.line[chosen.end :]
        return (
            f"Try {new} instead of {chosen.text}; the best value may lie nearby.\n"
            f"<<<<<<< SEARCH\n{chosen.line}\n=======\n{new_line}\n>>>>>>> REPLACE\n"
        )

    return respond


def gathering(responder: Responder, count: int, wait_s: float = 60.0) -> Responder:
    """``responder``, holding back its first answers until ``count`` requests have arrived.

    With it, a test that ``count`` calls run at once does not depend on timing: the server counts
    ``count`` requests handled together whenever the client really sends them together, and never
    more than the client allows. If fewer ever arrive, each waits ``wait_s`` and answers anyway,
    so a test of a broken limit fails instead of hanging. Later requests pass straight through.
    """
    arrived = 0
    gathered = threading.Condition()

    def respond(request: dict[str, Any]) -> str:
        nonlocal arrived
        with gathered:
            arrived += 1
            gathered.notify_all()
            gathered.wait_for(lambda: arrived >= count, timeout=wait_s)
        return responder(request)

    return respond


def in_kind_responder(seed: int = 0) -> Responder:
    """``tweak_constants_responder``'s edit, written the way the prompt asks for it.

    A prompt whose system message shows SEARCH/REPLACE blocks (the diff operator) gets the block; any
    other (rewrite, crossover) gets the whole changed program in one fenced code block, so every
    operator can make applicable children end to end.
    """
    tweak = tweak_constants_responder(seed)
    diff_block = re.compile(
        r"^<<<<<<< SEARCH\n(.*?)\n=======\n(.*?)\n>>>>>>> REPLACE$", re.MULTILINE | re.DOTALL
    )

    def respond(request: dict[str, Any]) -> str:
        answer = tweak(request)
        system = next(
            (m.get("content") or "" for m in request.get("messages", []) if m.get("role") == "system"), ""
        )
        edit = diff_block.search(answer)
        code = current_program(request)
        if "<<<<<<< SEARCH" in system or edit is None or code is None:
            return answer
        rewritten = code.replace(f"{edit.group(1)}\n", f"{edit.group(2)}\n", 1)
        return f"{answer[: edit.start()]}```python\n{rewritten}\n```\n"

    return respond
