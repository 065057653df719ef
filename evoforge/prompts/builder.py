"""Build the chat messages for one generation: rules in the system message, programs in the user message.

Layout (after the AlphaEvolve paper's figure, in our own words): a role line, the task context and
the edit rules; then prior programs (the best first, then different ones), each preceded by one
metrics line; then, last, the program to change under "Current program" with its metrics and
artifacts; then any rejected edits of it and the task. Programs are shown whole: the model needs
the code around the EVOLVE blocks to write consistent edits. Deterministic: the same inputs always
give the same prompt, so runs replay and prompts can be compared.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from evoforge.config import PromptConfig
from evoforge.records import Program

ROLE = (
    "You are an expert software engineer and researcher improving a program step by step. Each version "
    "is scored by an automatic evaluator; higher scores are better."
)

DIFF_RULES = """Answer with one or more SEARCH/REPLACE blocks in exactly this format:

<<<<<<< SEARCH
lines copied exactly from the current program
=======
the new lines
>>>>>>> REPLACE

Rules:
- The SEARCH text must match the current program exactly, including indentation; keep it short but unique.
- Only code between EVOLVE-BLOCK-START and EVOLVE-BLOCK-END may change; never edit the markers.
- Several blocks are allowed; together they must leave a consistent program (a new variable is also defined,
  a renamed function is renamed everywhere).

Example:
<<<<<<< SEARCH
    step = 0.1
=======
    step = 0.05  # finer steps converge more reliably
>>>>>>> REPLACE"""

REWRITE_RULES = """Answer with the complete new contents of the EVOLVE block in one fenced code block.
If the program has several EVOLVE blocks, answer with the whole program, markers included, in one fenced
code block. Code outside the blocks must stay exactly as it is."""

DIFF_TASK = (
    "Propose one new idea that improves the score, drawing on expert knowledge of the problem, and write it "
    "as SEARCH/REPLACE blocks. Explain the idea in one or two sentences first."
)
REWRITE_TASK = (
    "Propose one new idea that improves the score, drawing on expert knowledge of the problem, and write the "
    "new block contents in one fenced code block. Explain the idea in one or two sentences first."
)
MAX_REJECTIONS = 3
MAX_ERROR_CHARS = 300
_BACKTICK_RUN = re.compile(r"`{3,}")


def _number(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def _error_summary(program: Program) -> str:
    """The first line of a failed program's error, short enough for a one-line header."""
    error = program.artifacts.get("error", "").strip() or "unknown error"
    line = error.splitlines()[0]
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 3] + "..."


def metrics_line(program: Program) -> str:
    """``score: 1.23; name: value; …`` (6 significant digits), or ``evaluation failed: <error>``."""
    if not program.ok:
        return f"evaluation failed: {_error_summary(program)}"
    parts = [f"score: {_number(program.score)}"]
    parts += [
        f"{name}: {_number(value)}" for name, value in program.metrics.items() if name != "combined_score"
    ]
    return "; ".join(parts)


def _artifacts(program: Program, config: PromptConfig) -> str:
    """At most ``max_artifact_chars`` of artifact text in total, with a note of what was cut."""
    if not config.include_artifacts:
        return ""
    items = [
        (name, text)
        for name, text in program.artifacts.items()
        if text and not (name == "error" and not program.ok and text.strip() == _error_summary(program))
    ]
    if not items:
        return ""
    budget = config.max_artifact_chars
    pieces = []
    for position, (name, text) in enumerate(items):
        if budget <= 0:
            left_out = ", ".join(name for name, _ in items[position:])
            pieces.append(f"[... left out: {left_out}]")
            break
        # An artifact must not open or close a code fence: the program after it would become ambiguous.
        shown = _BACKTICK_RUN.sub("'''", text[:budget])
        if len(text) > budget:
            shown += f"\n[... {len(text) - budget} more characters]"
        budget -= min(len(text), budget)
        pieces.append(f"[{name}]\n{shown}")
    return "Evaluation output:\n" + "\n".join(pieces) + "\n"


def _fenced(code: str, language: str) -> str:
    """``code`` in a fence longer than any backtick run inside it (Markdown's rule): it cannot end early."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip()}\n{fence}\n"


def _program_section(title: str, program: Program, config: PromptConfig, language: str) -> str:
    return f"{title}\n{metrics_line(program)}\n{_artifacts(program, config)}{_fenced(program.code, language)}"


def build_messages(
    *,
    context: str | None,
    parent: Program,
    top: Sequence[Program],
    diverse: Sequence[Program],
    config: PromptConfig,
    language: str = "python",
    rejections: Sequence[str] = (),
    score_metric: str | None = None,
) -> list[dict[str, str]]:
    """The system and user messages asking for one improvement of ``parent``.

    ``top`` are better programs and ``diverse`` different ones, shown in that order before the
    parent; ``rejections`` are reasons earlier edits of ``parent`` were rejected (the last
    ``MAX_REJECTIONS`` are shown when ``config.show_rejections``).
    """
    rewrite = config.edit_mode == "rewrite"
    system = [ROLE]
    if context and context.strip():
        system.append(f"## The task\n{context.strip()}")
    if config.system_message:
        system.append(config.system_message.strip())
    if score_metric:
        system.append(f"The score is the metric '{score_metric}'.")
    system.append(f"## How to answer\n{REWRITE_RULES if rewrite else DIFF_RULES}")

    user = []
    labelled = [(p, "among the best so far") for p in top] + [(p, "a different approach") for p in diverse]
    if labelled:
        user.append("## Prior programs")
        for number, (program, label) in enumerate(labelled, start=1):
            user.append(_program_section(f"### Prior program {number} ({label})", program, config, language))
    user.append(_program_section("## Current program", parent, config, language))
    if config.show_rejections and rejections:
        lines = [
            f"Your previous edit to this program was rejected: {reason}"
            for reason in rejections[-MAX_REJECTIONS:]
        ]
        user.append("\n".join(lines) + "\n")
    user.append(f"## Task\n{REWRITE_TASK if rewrite else DIFF_TASK}")
    return [{"role": "system", "content": "\n\n".join(system)}, {"role": "user", "content": "\n".join(user)}]
