"""Build the chat messages for one generation: rules in the system message, programs in the user message.

Layout (after the AlphaEvolve paper's figure, in our own words): a role line, the task context and
the edit rules; then prior programs, each preceded by one metrics line; then, last, the program to
change under "Current program" with its metrics and artifacts; then the task. Deterministic: the
same inputs always give the same prompt, so runs replay and prompts can be compared.
"""

from __future__ import annotations

import math
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


def _number(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def metrics_line(program: Program) -> str:
    """``score: 1.23; name: value; …`` or the failure reason."""
    if not program.ok:
        return f"evaluation failed: {program.artifacts.get('error', 'unknown error')}"
    parts = [f"score: {_number(program.score)}"]
    parts += [
        f"{name}: {_number(value)}" for name, value in program.metrics.items() if name != "combined_score"
    ]
    return "; ".join(parts)


def _artifacts(program: Program, config: PromptConfig) -> str:
    if not config.include_artifacts or not program.artifacts:
        return ""
    budget = config.max_artifact_chars
    pieces = []
    for name, text in program.artifacts.items():
        if budget <= 0:
            break
        shown = (
            text if len(text) <= budget else text[:budget] + f"\n[... {len(text) - budget} more characters]"
        )
        budget -= len(shown)
        pieces.append(f"[{name}]\n{shown}")
    return "Evaluation output:\n" + "\n".join(pieces) + "\n"


def _program_section(title: str, program: Program, config: PromptConfig, language: str) -> str:
    return (
        f"{title}\n{metrics_line(program)}\n{_artifacts(program, config)}"
        f"```{language}\n{program.code.rstrip()}\n```\n"
    )


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
    """The system and user messages asking for one improvement of ``parent``."""
    rewrite = config.edit_mode == "rewrite"
    system = [ROLE]
    if context:
        system.append(f"## The task\n{context.strip()}")
    if config.system_message:
        system.append(config.system_message.strip())
    if score_metric:
        system.append(f"The score is the metric '{score_metric}'.")
    system.append(f"## How to answer\n{REWRITE_RULES if rewrite else DIFF_RULES}")
    user = []
    prior = [*top, *diverse]
    if prior:
        user.append("## Prior programs")
        for number, program in enumerate(prior, start=1):
            user.append(_program_section(f"### Prior program {number}", program, config, language))
    user.append(_program_section("## Current program", parent, config, language))
    if config.show_rejections and rejections:
        lines = "\n".join(f"- {reason}" for reason in rejections[-MAX_REJECTIONS:])
        user.append(f"Your previous edits to this program were rejected:\n{lines}\n")
    user.append(f"## Task\n{REWRITE_TASK if rewrite else DIFF_TASK}")
    return [{"role": "system", "content": "\n\n".join(system)}, {"role": "user", "content": "\n".join(user)}]
