"""Meta-prompt evolution: instruction snippets ("how to approach this problem") evolving beside the programs.

With ``meta_prompts.enabled``, every model-driven submission renders one snippet of a small population in
its system message. ``ask`` chooses it, in submission order, from one draw of ``request.rng``: a snippet
with fewer than ``min_uses`` children first (the oldest), else with probability ``explore`` one drawn
uniformly, else the one whose children improved most on their parents on average. Every
``evolve_every``-th submission the chosen snippet is first rewritten by a model (``instructions_for``, in
``propose``: a real request to the ensemble, recorded as an LLM call with operator ``meta_prompt``); that
submission's child is asked with the new text, and the new snippet joins the population when the
submission's outcome is told, in submission order, so a seeded run evolves the same snippets at any
concurrency. Past ``population`` snippets, the one with the lowest mean improvement (among those used
``min_uses`` times) retires.

The improvement of a child is its score minus its parent's when it is valid and better, else 0; a child
cancelled by a stop or lost in a crash counts for nothing. The state (population, counts, the snippet of
each submission in flight) is part of the LLM mutator's state (key ``meta``), so it survives a resume; the
controller mirrors the population into the ``meta_prompts`` table (``rows_in``) with its lineage.
"""

from __future__ import annotations

import math
import random
import re
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from evoforge.errors import ProviderError
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.prompts.meta_settings import MetaPromptConfig
from evoforge.records import LLMCall

if TYPE_CHECKING:
    from evoforge.llm.openai_compat import Completion

META_OPERATOR = "meta_prompt"  # the operator recorded on the LLM call that rewrites a snippet
STATE_KEY = "meta"  # the key of this state in the LLM mutator's state
NEUTRAL_FAILURES = frozenset({"cancelled", "lost"})
_TAGGED = re.compile(r"<instructions>\s*(.*?)\s*</instructions>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^```[^\n]*\n|\n?```\s*$")

SYSTEM = "You write short instructions that guide a coding model as it improves a program step by step."


class ModelAccess(Protocol):
    """What a rewrite needs of the ensemble (llm/ensemble.py)."""

    model_names: list[str]

    async def choose(self, rng: random.Random, preferred: int | None = None) -> int: ...

    async def complete(
        self, index: int, messages: list[dict[str, str]], seed: int | None = None
    ) -> Completion: ...

    def cost(self, index: int, prompt_tokens: int, completion_tokens: int) -> float: ...


@dataclass
class Snippet:
    """One instruction snippet: its lineage, the submission that made it, and how its children fared."""

    id: int
    parent_id: int | None
    text: str
    submission: int  # 0 for a seed from the config
    created_at: float
    uses: int = 0
    total_improvement: float = 0.0

    def mean(self) -> float:
        return self.total_improvement / self.uses if self.uses else 0.0


@dataclass
class _Pending:
    """A submission asked and not yet told: its snippet, its parent's score, its draw, what it made."""

    snippet: int
    parent_score: float | None
    draw: float
    rewrite: str | None  # the request for a rewrite, written in ``ask`` from the population as told so far
    made: str | None = None  # the rewritten text, once ``instructions_for`` made it


class MetaPrompts:
    """The population of snippets; the LLM mutator calls ask/remake, instructions_for and tell."""

    def __init__(self, config: MetaPromptConfig, context: str | None = None) -> None:
        self.config = config
        self._context = (context or "").strip()[:1500]
        now = time.time()
        self.snippets = [Snippet(i, None, text.strip(), 0, now) for i, text in enumerate(config.seeds)]
        self._pending: dict[int, _Pending] = {}
        self._next_id = len(self.snippets)

    @classmethod
    def from_config(cls, config: MetaPromptConfig, context: str | None = None) -> MetaPrompts | None:
        """The population, or None when meta-prompt evolution is off."""
        return cls(config, context) if config.enabled else None

    def ask(self, request: ProposalRequest) -> None:
        """Choose the snippet of ``request``'s submission (one draw of its RNG)."""
        draw = request.rng.random()
        score = request.parent.score
        snippet = self._choose(draw)
        rewrite = self._request(snippet) if request.submission % self.config.evolve_every == 0 else None
        self._pending[request.submission] = _Pending(
            snippet.id, score if math.isfinite(score) else None, draw, rewrite
        )

    def remake(self, request: ProposalRequest) -> None:
        """A submission made again on resume: the same draw; the snippet it had, if it is known."""
        if request.submission in self._pending:
            request.rng.random()
        else:
            self.ask(request)

    async def instructions_for(
        self, request: ProposalRequest, models: ModelAccess
    ) -> tuple[str, LLMCall | None]:
        """The snippet to render for ``request``'s child, rewriting it first on an evolving submission.

        Returns the text and the rewrite's LLM call (None when there was none); a failed rewrite is
        recorded as a call with its error, and the child is asked with the old snippet.
        """
        pending = self._pending[request.submission]
        parent = self._by_id(pending.snippet)
        if pending.rewrite is None:
            return parent.text, None
        if pending.made is not None:  # made again after a resume
            return pending.made, None
        call = await self._rewrite(request.submission, pending.rewrite, random.Random(pending.draw), models)
        text = _parse(call.response, self.config.max_chars) if call.response is not None else None
        pending.made = text
        return (text or parent.text), call

    def tell(self, feedback: Feedback) -> None:
        """Credit the snippet of a told submission and add what it made; what was told already is ignored."""
        pending = self._pending.pop(feedback.submission, None)
        if pending is None or feedback.failure in NEUTRAL_FAILURES:
            return
        used = pending.snippet
        if pending.made is not None:
            made = Snippet(self._next_id, pending.snippet, pending.made, feedback.submission, time.time())
            self._next_id += 1
            self.snippets.append(made)
            used = made.id
        snippet = self._by_id(used)
        snippet.uses += 1
        snippet.total_improvement += _improvement(feedback, pending.parent_score)
        self._retire()

    def _choose(self, draw: float) -> Snippet:
        asked = {s.id: 0 for s in self.snippets}
        for pending in self._pending.values():
            asked[pending.snippet] = asked.get(pending.snippet, 0) + 1
        untried = [s for s in self.snippets if s.uses + asked[s.id] < self.config.min_uses]
        if untried:
            return untried[0]
        local = random.Random(draw)
        if local.random() < self.config.explore:
            return local.choice(self.snippets)
        return max(self.snippets, key=lambda s: (s.mean(), -s.id))

    def _retire(self) -> None:
        """Drop the weakest tried snippet while the population is over its size (never one in use)."""
        while len(self.snippets) > self.config.population:
            busy = {pending.snippet for pending in self._pending.values()}
            tried = [s for s in self.snippets if s.uses >= self.config.min_uses and s.id not in busy]
            if not tried:
                return
            self.snippets.remove(min(tried, key=lambda s: (s.mean(), s.id)))

    def _by_id(self, snippet_id: int) -> Snippet:
        return next(s for s in self.snippets if s.id == snippet_id)

    async def _rewrite(self, submission: int, ask: str, rng: random.Random, models: ModelAccess) -> LLMCall:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ask}]
        model = await models.choose(rng)
        started = time.time()
        recorded: dict[str, Any] = {
            "submission": submission,
            "messages": tuple(messages),
            "created_at": started,
            "operator": META_OPERATOR,
        }
        try:
            completion = await models.complete(model, messages, seed=rng.randrange(2**31))
        except ProviderError as error:
            if error.fatal:
                raise
            name = models.model_names[model]
            latency = time.time() - started
            return LLMCall(
                model=name, response=None, prompt_tokens=0, completion_tokens=0, latency_s=latency,
                error=f"{error.kind}: {error}", **recorded,
            )  # fmt: skip
        cost = models.cost(model, completion.prompt_tokens, completion.completion_tokens)
        return LLMCall(
            model=completion.model, response=completion.text, prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens, latency_s=completion.latency_s, error=None,
            cost_usd=cost, **recorded,
        )  # fmt: skip

    def _request(self, parent: Snippet) -> str:
        """The user message asking for a better snippet, with how this one and the others fared."""
        others = sorted((s for s in self.snippets if s.id != parent.id), key=lambda s: -s.mean())[:3]
        lines = [
            "A coding model improving a program receives these instructions on how to approach the problem:",
            f"<instructions>\n{parent.text}\n</instructions>",
            f"Under them it made {parent.uses} programs, improving on their parents by {parent.mean():.4g} "
            "on average (score gained; higher is better).",
        ]
        if others:
            lines.append("Other instructions and their mean improvement:")
            lines += [f"- ({s.mean():.4g} over {s.uses} programs) {s.text}" for s in others]
        if self._context:
            lines.append(f"The problem:\n{self._context}")
        lines.append(
            f"Write better instructions for the same purpose, at most {self.config.max_chars} characters. "
            "Answer with the new instructions only, between <instructions> and </instructions>."
        )
        return "\n\n".join(lines)

    def state(self) -> dict[str, Any]:
        return {
            "next_id": self._next_id,
            "snippets": [asdict(s) for s in self.snippets],
            "pending": {
                str(sub): [p.snippet, p.parent_score, p.draw, p.rewrite, p.made]
                for sub, p in sorted(self._pending.items())
            },
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._next_id = state["next_id"]
        self.snippets = [Snippet(**row) for row in state["snippets"]]
        self._pending = {int(sub): _Pending(*row) for sub, row in state["pending"].items()}


def _improvement(feedback: Feedback, parent_score: float | None) -> float:
    child = feedback.program
    if child is None or not child.is_valid or parent_score is None:
        return 0.0
    return max(0.0, child.score - parent_score)


def _parse(answer: str, max_chars: int) -> str | None:
    """The new snippet in a model's answer: between the tags, else the whole answer; None if empty."""
    tagged = _TAGGED.search(answer)
    text = _FENCE.sub("", tagged.group(1) if tagged else answer.strip()).strip()
    return text[:max_chars] or None


def rows_in(mutator_state: Any) -> list[dict[str, Any]]:
    """The snippets held in a run's saved mutator state (controller: state key ``mutator``), for the table."""
    llm = mutator_state.get("llm") if isinstance(mutator_state, dict) else None
    meta = llm.get(STATE_KEY) if isinstance(llm, dict) else None
    return list(meta["snippets"]) if isinstance(meta, dict) else []
