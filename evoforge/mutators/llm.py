"""The language-model mutator: prompt → ensemble → parse SEARCH/REPLACE or rewrite → apply."""

from __future__ import annotations

import time

from evoforge import codebase
from evoforge.config import Config
from evoforge.edits import parse_response
from evoforge.errors import EditError, ProviderError
from evoforge.llm.ensemble import Ensemble
from evoforge.mutators.base import Mutator, Proposal, ProposalRequest
from evoforge.prompts.builder import build_messages
from evoforge.records import LLMCall
from evoforge.task import Task


class LLMMutator(Mutator):
    """Asks a weighted ensemble of models for an edit of the parent and applies it inside the blocks.

    A failed model call is a failed generation whose kind is the ProviderError's (``rate_limit``,
    ``server_error``, ``timeout``, ``connection``, ``bad_response``, ``empty_content``), so a run's
    failures can be counted by cause; a fatal ProviderError propagates and stops the run.
    """

    name = "llm"

    def __init__(self, task: Task, config: Config) -> None:
        self._task = task
        self._config = config
        self._ensemble = Ensemble(config.llm)

    def remake(self, request: ProposalRequest) -> bool:
        """Ask the model again: the same request makes the same prompt and seed."""
        return True

    async def propose(self, request: ProposalRequest) -> Proposal:
        messages = build_messages(
            context=self._task.context,
            parent=request.parent,
            top=request.top,
            diverse=request.diverse,
            config=self._config.prompt,
            language=self._task.language,
            rejections=request.rejections,
            score_metric=self._config.score_metric,
        )
        model = await self._ensemble.choose(request.rng)
        started = time.time()
        try:
            completion = await self._ensemble.complete(model, messages, seed=request.rng.randrange(2**31))
        except ProviderError as error:
            if error.fatal:
                raise
            call = LLMCall(
                submission=request.submission,
                model=self._ensemble.model_names[model],
                messages=tuple(messages),
                response=None,
                prompt_tokens=0,
                completion_tokens=0,
                latency_s=time.time() - started,
                error=f"{error.kind}: {error}",
                created_at=started,
            )
            return Proposal(code=None, failure_kind=error.kind, reason=str(error), llm_call=call)
        call = LLMCall(
            submission=request.submission,
            model=completion.model,
            messages=tuple(messages),
            response=completion.text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            latency_s=completion.latency_s,
            error=None,
            created_at=started,
        )
        edit = parse_response(completion.text, self._config.prompt.edit_mode)
        if edit is None:
            return Proposal(
                code=None,
                failure_kind="no_edit",
                reason="no SEARCH/REPLACE block or code found",
                llm_call=call,
            )
        try:
            code = codebase.apply_answer(request.parent.code, edit, completion.text)
        except EditError as error:
            return Proposal(code=None, failure_kind="edit_rejected", reason=str(error), llm_call=call)
        return Proposal(code=code, llm_call=call)

    async def aclose(self) -> None:
        await self._ensemble.aclose()
