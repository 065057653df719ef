"""Repair: one more turn of the same conversation when a model's child failed, to fix what went wrong.

A child fails in three places: the answer holds no edit (``no_edit``), the edit does not apply
(``edit_rejected``), or the child's evaluation fails (``evaluation``). Without repair the model never
sees that failure again. With ``repair.max_attempts`` > 0 the controller asks, for each such failure of
a model-made child, a follow-up in the same conversation: the original messages, the model's answer,
and a user message with the error and the relevant text (the evaluation's artifacts and the child's
code, trimmed). The answer is parsed and applied like any other, to the parent (an edit that failed) or
to the broken child (an evaluation that failed), and the result goes through the same checks and
evaluation. At most ``max_attempts`` follow-ups per generation; the child that comes out is a normal
child with ``repaired=True``. Every follow-up is recorded as an LLM call (``operator`` "repair").

Only the final child of a generation is stored: a broken child that a repair replaced lives on in the
repair call's messages, not as a program, so a generation still has exactly one outcome.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from evoforge.edits import apply_edit, parse_response
from evoforge.errors import EditError, ProviderError
from evoforge.llm.ensemble import Ensemble
from evoforge.llm.feedback_settings import RepairConfig
from evoforge.llm.settings import LLMConfig
from evoforge.mutators.base import Proposal, ProposalRequest
from evoforge.records import Candidate, Evaluation, LLMCall

log = logging.getLogger(__name__)

REPAIR_OPERATOR = "repair"
_BACKTICK_RUN = re.compile(r"`{3,}")


@dataclass(frozen=True)
class Child:
    """How far one try at a generation's child got: a failure before evaluation, or an evaluation."""

    proposal: Proposal
    llm_call_id: int | None
    candidate: Candidate | None = None
    evaluation: Evaluation | None = None
    failure_kind: str | None = None
    reason: str = ""
    duplicate_of: int | None = None  # the evaluated program a ``duplicate`` child repeats
    novelty: float | None = None  # its novelty among its island's elites, when measured

    @property
    def trigger(self) -> str | None:
        """The repair trigger this child's failure is, if any (a duplicate or a provider error is none)."""
        if self.evaluation is not None:
            return None if self.evaluation.ok else "evaluation"
        return self.failure_kind if self.failure_kind in ("no_edit", "edit_rejected") else None


def _trimmed(text: str, limit: int) -> str:
    """At most ``limit`` characters: the head and the tail, where errors and tracebacks say the most."""
    text = text.strip()
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters left out ...]\n{text[-half:]}"


def _fence(code: str) -> str:
    """``code`` in a fence longer than any backtick run inside it, so the fence cannot end early."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{code.rstrip()}\n{fence}"


def repair_message(child: Child, max_chars: int) -> str:
    """The user turn that tells the model what went wrong with its last answer."""
    if child.evaluation is None:
        what = "held no edit I could find" if child.failure_kind == "no_edit" else "could not be applied"
        return (
            f"Your answer {what}: {_trimmed(child.reason, max_chars)}\n\n"
            "Answer again with the same idea, in exactly the format the instructions ask for. A SEARCH "
            "text must be copied exactly from the current program, inside the EVOLVE blocks."
        )
    assert child.candidate is not None
    evaluation = child.evaluation
    output = "\n".join(
        f"[{name}]\n{text}" for name, text in evaluation.artifacts.items() if text and name != "error"
    )
    shown = _trimmed(f"{evaluation.error or 'the evaluation failed'}\n{output}", max_chars)
    return (
        "Your edit was applied, but the program failed evaluation:\n"
        f"{shown}\n\nThe program as your edit left it:\n{_fence(child.candidate.code)}\n\n"
        "Fix the cause of the failure. Answer with SEARCH/REPLACE blocks against this program (or its "
        "EVOLVE block rewritten whole in one fenced code block)."
    )


class Repairer:
    """Asks the models again about a failed child; a no-op when ``repair.max_attempts`` is 0.

    It has clients of its own (built only when repair is on), so it works under any mutator mix.
    """

    def __init__(self, config: RepairConfig, llm: LLMConfig) -> None:
        self.config = config
        self.ensemble: Ensemble | None = None
        if config.max_attempts > 0 and llm.models:
            self.ensemble = Ensemble(llm)

    def session(self, request: ProposalRequest) -> RepairSession:
        """The repair budget of one generation."""
        return RepairSession(self, request)

    async def aclose(self) -> None:
        if self.ensemble is not None:
            await self.ensemble.aclose()


class RepairSession:
    """One generation's follow-ups: whether another is due, and asking it."""

    def __init__(self, repairer: Repairer, request: ProposalRequest) -> None:
        self._repairer = repairer
        self._request = request
        self.used = 0

    def due(self, child: Child) -> bool:
        """Whether ``child`` failed in a way repair is on for, was made by a model, and attempts are left."""
        config = self._repairer.config
        call = child.proposal.llm_call
        return (
            self._repairer.ensemble is not None
            and self.used < config.max_attempts
            and child.trigger in config.on
            and call is not None
            and call.response is not None
        )

    async def ask(self, child: Child) -> Proposal:
        """The follow-up's proposal: a repaired child's code, or why there is none (a failed generation)."""
        ensemble = self._repairer.ensemble
        assert ensemble is not None and child.proposal.llm_call is not None
        self.used += 1
        request, previous = self._request, child.proposal.llm_call
        messages = [
            *previous.messages,
            {"role": "assistant", "content": previous.response or ""},
            {"role": "user", "content": repair_message(child, self._repairer.config.max_error_chars)},
        ]
        names = ensemble.model_names
        preferred = names.index(previous.model) if previous.model in names else None
        model = await ensemble.choose(request.rng, preferred=preferred)
        started = time.time()
        parent = child.proposal.parent or request.parent
        base = child.candidate.code if child.candidate is not None else parent.code
        keep = {"mutator": child.proposal.mutator, "parent": child.proposal.parent}
        try:
            completion = await ensemble.complete(model, messages, seed=request.rng.randrange(2**31))
        except ProviderError as error:
            if error.fatal:
                raise
            call = self._call(model, messages, None, 0, 0, time.time() - started, started, error)
            return Proposal(None, error.kind, f"repair: {error}", call, **keep)
        call = self._call(
            model,
            messages,
            completion.text,
            completion.prompt_tokens,
            completion.completion_tokens,
            completion.latency_s,
            started,
            None,
        )
        edit = parse_response(completion.text, complete=completion.finish_reason == "stop")
        if edit is None:
            return Proposal(None, "no_edit", "repair: no SEARCH/REPLACE block or code found", call, **keep)
        try:
            code = apply_edit(base, edit)
        except EditError as error:
            return Proposal(None, "edit_rejected", f"repair: {error}", call, **keep)
        log.debug("submission %d: repair %d produced a child", request.submission, self.used)
        return Proposal(code, llm_call=call, **keep)

    def _call(
        self,
        model: int,
        messages: list[dict[str, str]],
        response: str | None,
        prompt_tokens: int,
        completion_tokens: int,
        latency_s: float,
        started: float,
        error: ProviderError | None,
    ) -> LLMCall:
        ensemble = self._repairer.ensemble
        assert ensemble is not None
        return LLMCall(
            submission=self._request.submission,
            model=ensemble.model_names[model],
            messages=tuple(messages),
            response=response,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=latency_s,
            error=f"{error.kind}: {error}" if error is not None else None,
            created_at=started,
            operator=REPAIR_OPERATOR,
            cost_usd=ensemble.cost(model, prompt_tokens, completion_tokens),
        )
