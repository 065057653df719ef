"""Build the chat messages for one generation: rules in the system message, programs in the user message.

Layout (after the AlphaEvolve paper's figure, in our own words): a role line, the task context and
the edit rules; then prior programs (the best first, then different ones), each preceded by one
metrics line; then, last, the program to change under "Current program" with its metrics and
artifacts; then any rejected edits of it and the task (with the ``format_last`` answer variant, then
the answer format with an example made from a line of the current program, ``example.py``). Programs
are shown whole: the model needs the code around the EVOLVE blocks to write consistent edits. The
text comes from the Jinja2 templates (``render.py``); the operator's template gives the rules and the
task. Deterministic: the same inputs (variant included) always give the same prompt, so runs replay
and prompts compare.

A size budget (``prompt.max_chars``, the characters of both messages) is met by leaving out the
fewest of the least useful parts that make the prompt fit: the inspirations' evaluation output, then
inspirations (the last shown first), the current program's evaluation output, extra context files,
notes on rejected edits, ``context.md``, and last the crossover partner. The current program is never
cut; when it alone passes the budget, the prompt is sent over budget.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from evoforge.prompts.example import edit_example
from evoforge.prompts.render import Templates
from evoforge.prompts.sections import ProgramView
from evoforge.prompts.settings import PromptConfig
from evoforge.prompts.variants import DEFAULT_VARIANT, SLOTS
from evoforge.records import Program

MAX_REJECTIONS = 3
TOP_LABEL = "among the best so far"
DIVERSE_LABEL = "a different approach"


@functools.cache
def shipped_templates() -> Templates:
    """The package's templates, loaded once per process (a task without overrides uses these)."""
    return Templates()


@dataclass
class _Shown:
    program: Program
    label: str
    artifacts: bool


@dataclass
class _Parts:
    """What a prompt may show; the budget takes parts away from it."""

    parent: Program
    priors: list[_Shown]  # most useful first
    parent_artifacts: bool
    partner: _Shown | None
    context: str | None
    context_files: list[tuple[str, str]]
    rejections: list[str]


def _trimmings(parts: _Parts) -> Iterator[None]:
    """Take away the next least useful part at each step (see the module docstring)."""
    for shown in reversed([*parts.priors, *([parts.partner] if parts.partner else [])]):
        if shown.artifacts:
            shown.artifacts = False
            yield
    while parts.priors:
        parts.priors.pop()
        yield
    if parts.parent_artifacts:
        parts.parent_artifacts = False
        yield
    while parts.context_files:
        parts.context_files.pop()
        yield
    while parts.rejections:
        parts.rejections.pop(0)
        yield
    if parts.context:
        parts.context = None
        yield
    if parts.partner is not None:
        parts.partner = None
        yield


def _copy(parts: _Parts) -> _Parts:
    return dataclasses.replace(
        parts,
        priors=[dataclasses.replace(shown) for shown in parts.priors],
        partner=dataclasses.replace(parts.partner) if parts.partner is not None else None,
        context_files=list(parts.context_files),
        rejections=list(parts.rejections),
    )


def _cut(parts: _Parts, count: int) -> _Parts:
    """A copy of ``parts`` without its ``count`` least useful parts."""
    cut = _copy(parts)
    for _ in itertools.islice(_trimmings(cut), count):
        pass
    return cut


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
    operator: str | None = None,
    partner: Program | None = None,
    variant: Mapping[str, str] | None = None,
    context_files: Sequence[tuple[str, str]] = (),
    instructions: Sequence[str] | None = None,
    templates: Templates | None = None,
) -> list[dict[str, str]]:
    """The system and user messages asking ``operator`` (default: ``config.edit_mode``, else diff).

    ``top`` are better programs and ``diverse`` different ones, shown before the parent (not for a
    crossover, which shows ``partner`` instead); ``rejections`` are reasons earlier edits of ``parent``
    were rejected (the last ``MAX_REJECTIONS`` are shown when ``config.show_rejections``);
    ``context_files`` are (name, text) pairs; ``instructions`` default to ``config.system_message``;
    ``variant`` names an alternative per slot (default: the first of each).
    """
    operator = operator or config.edit_mode or "diff"
    variant = {**DEFAULT_VARIANT, **(variant or {})}  # a slot left out keeps its first alternative
    if instructions is None:
        instructions = [config.system_message.strip()] if config.system_message else []
    shown = config.include_artifacts
    priors = [] if operator == "crossover" else [*top, *diverse]
    labels = [TOP_LABEL] * len(top) + [DIVERSE_LABEL] * len(diverse)
    parts = _Parts(
        parent=parent,
        priors=[_Shown(p, label, shown) for p, label in zip(priors, labels, strict=False)],
        parent_artifacts=shown,
        partner=_Shown(partner, "", shown) if partner is not None and operator == "crossover" else None,
        context=context.strip() if config.include_context and context and context.strip() else None,
        context_files=list(context_files) if config.include_context else [],
        rejections=list(rejections[-MAX_REJECTIONS:]) if config.show_rejections else [],
    )
    fixed = {
        "operator": operator,
        "operator_template": f"{operator}.j2",
        "variant": dict(variant),
        "role": SLOTS["role"][variant["role"]],
        "intent": SLOTS["intent"][variant["intent"]],
        "instructions": list(instructions),
        "score_metric": score_metric,
        "language": language,
        "example": edit_example(parent.code),
    }
    render = functools.partial(_render, templates or shipped_templates(), fixed, config, language)
    messages = render(parts)
    if config.max_chars is None or _size(messages) <= config.max_chars:
        return messages
    # The fewest cuts that fit, by bisection: every cut makes the prompt shorter, so a few renders
    # find it where cutting one part at a time would render once per part.
    low, high = 1, sum(1 for _ in _trimmings(_copy(parts)))
    fitting = render(_cut(parts, high))
    while low < high:
        middle = (low + high) // 2
        attempt = render(_cut(parts, middle))
        if _size(attempt) <= config.max_chars:
            high, fitting = middle, attempt
        else:
            low = middle + 1
    return fitting


def _size(messages: list[dict[str, str]]) -> int:
    return sum(len(message["content"]) for message in messages)


def _render(
    templates: Templates, fixed: dict[str, object], config: PromptConfig, language: str, parts: _Parts
) -> list[dict[str, str]]:
    def view(shown: _Shown) -> ProgramView:
        return ProgramView.of(shown.program, config, language, label=shown.label, artifacts=shown.artifacts)

    priors = parts.priors
    if fixed["variant"]["prior_order"] == "ascending":  # type: ignore[index]
        priors = sorted(priors, key=lambda shown: shown.program.score)
    variables = {
        **fixed,
        "context": parts.context,
        "context_files": [{"name": name, "text": text} for name, text in parts.context_files],
        "priors": [view(shown) for shown in priors],
        "partner": view(parts.partner) if parts.partner is not None else None,
        "parent": ProgramView.of(parts.parent, config, language, artifacts=parts.parent_artifacts),
        "rejections": parts.rejections,
    }
    return [
        {"role": "system", "content": templates.render("system.j2", variables)},
        {"role": "user", "content": templates.render("user.j2", variables)},
    ]
