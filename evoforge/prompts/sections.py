"""How one program appears in a prompt: its metrics line, its evaluation output and its code.

Templates receive programs as ``ProgramView``s: the raw record (``program``, and its ``code``,
``metrics``, ``artifacts``, ``score``) and ready-made pieces (``metrics_line``, ``evaluation``,
``code_block``), so a task's own template can use either.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from evoforge.prompts.settings import PromptConfig
from evoforge.records import Program

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


def fenced(code: str, language: str) -> str:
    """``code`` in a fence longer than any backtick run inside it (Markdown's rule): it cannot end early."""
    runs = _BACKTICK_RUN.findall(code) if "```" in code else ()  # the scan is most of a prompt's cost
    longest = max((len(run) for run in runs), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip()}\n{fence}\n"


@dataclass(frozen=True)
class ProgramView:
    """A program as templates see it; ``evaluation`` is empty when its artifacts are not shown."""

    program: Program
    label: str
    metrics_line: str
    evaluation: str
    code_block: str

    @classmethod
    def of(
        cls, program: Program, config: PromptConfig, language: str, *, label: str = "", artifacts: bool = True
    ) -> ProgramView:
        evaluation = _artifacts(program, config) if artifacts else ""
        return cls(program, label, metrics_line(program), evaluation, fenced(program.code, language))

    @property
    def code(self) -> str:
        return self.program.code

    @property
    def metrics(self) -> dict[str, float]:
        return self.program.metrics

    @property
    def artifacts(self) -> dict[str, str]:
        return self.program.artifacts

    @property
    def score(self) -> float:
        return self.program.score
