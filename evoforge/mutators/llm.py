"""The language-model mutator: choose an arm and a prompt → ensemble → parse the answer → apply.

Operators (``prompt.operators``, else ``prompt.edit_mode`` alone): ``diff`` asks for SEARCH/REPLACE
blocks, ``rewrite`` for the whole new contents of the blocks, ``crossover`` for a rewrite combining the
parent with one inspiration (drawn from the request's; without one it runs as a rewrite). Which
(model, operator) arm makes a child is llm/selection.py's choice (fixed weights or a bandit); the arm,
the crossover partner and the prompt variant are all decided in ``ask``, in submission order, from the
request's RNG, so a seeded run makes the same prompts at any concurrency and again on resume.

``prompt.evolution: false`` (AlphaEvolve's "no evolution" ablation) builds every prompt around the
initial program, with no prior programs, and records each child as a child of the initial program.
The mutator meets the initial program as the parent of the run's first request and keeps it in its
state, so a resume has it too.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from random import Random
from typing import Any

from evoforge import codebase
from evoforge.config import Config
from evoforge.edits import parse_response
from evoforge.errors import ConfigError, EditError, ProviderError
from evoforge.fences import ends_with_fence_opener
from evoforge.llm.ensemble import Ensemble
from evoforge.llm.selection import Arm, ArmSelector
from evoforge.mutators.base import Feedback, Mutator, Proposal, ProposalRequest
from evoforge.prompts.builder import build_messages
from evoforge.prompts.meta import STATE_KEY as META_STATE_KEY
from evoforge.prompts.meta import MetaPrompts
from evoforge.prompts.render import Templates, load_context_files, template_dir
from evoforge.prompts.settings import OPERATORS, operator_weights
from evoforge.prompts.variants import DEFAULT_VARIANT, draw_variant, variant_label
from evoforge.records import NEG_INF, LLMCall, Program
from evoforge.task import Task

SELECTION_STATE_KEY = "selection"
INITIAL_STATE_KEY = "initial"


@dataclass(frozen=True)
class _Plan:
    """What ``ask`` decided for one submission; ``operator`` is what the prompt asks for."""

    arm: Arm
    operator: str
    parent: Program
    partner: Program | None
    variant: dict[str, str]


class LLMMutator(Mutator):
    """Asks a weighted ensemble of models for an edit of the parent and applies it inside the blocks.

    A failed model call is a failed generation whose kind is the ProviderError's (``rate_limit``,
    ``server_error``, ``timeout``, ``connection``, ``bad_response``, ``empty_content``), so a run's
    failures can be counted by cause; a fatal ProviderError propagates and stops the run. Each LLM
    call records its operator and prompt variant.
    """

    name = "llm"

    def __init__(self, task: Task, config: Config) -> None:
        self._task = task
        self._config = config
        prompt = config.prompt
        if not prompt.evolution and set(config.mutators or {"llm"}) != {"llm"}:
            # The initial program is met as the parent of the run's first request, which must be ours.
            raise ConfigError("prompt.evolution: false works with the llm mutator alone (mutators: {llm: 1})")
        self._context_files = load_context_files(task.directory, prompt.context_files)
        self._templates = Templates(template_dir(task.directory, prompt.template_dir))
        if self._templates.override is not None:
            self._templates.check(self._render_every_template)
        self._ensemble = Ensemble(config.llm)
        self._selector = ArmSelector.from_config(config.llm, operator_weights(prompt))
        self._meta = MetaPrompts.from_config(config.meta_prompts, task.context)  # None when off
        self._plans: dict[int, _Plan] = {}
        self._initial: Program | None = None  # kept only without evolution

    def ask(self, request: ProposalRequest) -> None:
        """Choose the arm, the meta-prompt, the crossover partner and the prompt variant now (in that
        order of draws); ``propose`` asks the model."""
        arm = self._selector.ask(request)
        if self._meta is not None:
            self._meta.ask(request)
        self._plans[request.submission] = self._plan(request, arm)

    def remake(self, request: ProposalRequest) -> bool:
        """Ask the model again: the same draws as ``ask`` make the same prompt and seed."""
        arm = self._selector.remake(request)
        if self._meta is not None:
            self._meta.remake(request)
        self._plans[request.submission] = self._plan(request, arm)
        return True

    def _plan(self, request: ProposalRequest, arm: Arm) -> _Plan:
        operator, parent, partner = arm.operator, request.parent, None
        if not self._config.prompt.evolution:
            if self._initial is None and parent.id == 0:
                self._initial = parent
            assert self._initial is not None, "the first request's parent is the initial program"
            parent, request = self._initial, dataclasses.replace(request, top=(), diverse=())
        if operator == "crossover":
            others = [p for p in (*request.top, *request.diverse) if p.id != parent.id]
            if others:
                partner = request.rng.choice(others)
            else:
                operator = "rewrite"
        return _Plan(arm, operator, parent, partner, draw_variant(self._config.prompt.variants, request.rng))

    def _messages(
        self, request: ProposalRequest, plan: _Plan, instructions: list[str]
    ) -> list[dict[str, str]]:
        evolution = self._config.prompt.evolution
        return build_messages(
            context=self._task.context,
            parent=plan.parent,
            top=request.top if evolution else (),
            diverse=request.diverse if evolution else (),
            config=self._config.prompt,
            language=self._task.language,
            rejections=request.rejections if evolution else (),
            score_metric=self._config.score_metric,
            operator=plan.operator,
            partner=plan.partner,
            variant=plan.variant,
            context_files=self._context_files,
            instructions=instructions,
            templates=self._templates,
        )

    def _render_every_template(self) -> None:
        """One prompt per operator and configured variant alternative around the initial program, so a
        broken override fails at start-up."""
        program = Program(
            id=0, submission=0, code=self._task.initial_code, parent_id=None, inspiration_ids=(), island=0,
            generation=0, mutator="initial", metrics={}, artifacts={"stdout": "output"}, score=NEG_INF,
            ok=True, features={}, created_at=0.0, eval_time_s=0.0,
        )  # fmt: skip
        example = ProposalRequest(0, program, (program,), (program,), ("an example rejection",), Random(0))
        variants = [dict(DEFAULT_VARIANT)] + [
            {**DEFAULT_VARIANT, slot: name}
            for slot, weights in self._config.prompt.variants.items()
            for name in weights
        ]
        for operator in OPERATORS:
            for variant in variants:
                self._messages(
                    example,
                    _Plan(Arm(0, operator), operator, program, program, variant),
                    ["Example instructions."],
                )

    async def propose(self, request: ProposalRequest) -> Proposal:
        plan = self._plans.pop(request.submission)
        system_message = self._config.prompt.system_message
        instructions = [system_message.strip()] if system_message else []
        if self._meta is None:
            return await self._ask_model(request, plan, instructions)
        snippet, meta_call = await self._meta.instructions_for(request, self._ensemble)
        proposal = await self._ask_model(request, plan, [*instructions, snippet])
        return dataclasses.replace(proposal, side_calls=(meta_call,)) if meta_call is not None else proposal

    async def _ask_model(self, request: ProposalRequest, plan: _Plan, instructions: list[str]) -> Proposal:
        """The child of ``plan``: one model call, its answer parsed and applied to the plan's parent."""
        messages = self._messages(request, plan, instructions)
        model = await self._ensemble.choose(request.rng, preferred=plan.arm.model)
        started = time.time()
        recorded: dict[str, Any] = {
            "submission": request.submission,
            "messages": tuple(messages),
            "created_at": started,
            "operator": plan.operator,
            "variant": variant_label(plan.variant),
        }
        recorded["seed"] = seed = request.rng.randrange(2**31)
        try:
            completion = await self._ensemble.complete(model, messages, seed=seed)
        except ProviderError as error:
            self._selector.charge(request.submission, model, 0.0)
            if error.fatal:
                raise
            call = LLMCall(
                model=self._ensemble.model_names[model],
                response=None,
                prompt_tokens=0,
                completion_tokens=0,
                latency_s=time.time() - started,
                error=f"{error.kind}: {error}",
                **recorded,
            )
            return Proposal(code=None, failure_kind=error.kind, reason=str(error), llm_call=call)
        cost = self._ensemble.cost(model, completion.prompt_tokens, completion.completion_tokens)
        self._selector.charge(request.submission, model, cost)
        call = LLMCall(
            cost_usd=cost,
            model=completion.model,
            response=completion.text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            latency_s=completion.latency_s,
            error=None,
            **recorded,
        )
        edit = parse_response(
            completion.text,
            "diff" if plan.operator == "diff" else "rewrite",
            opened=ends_with_fence_opener(messages[-1]["content"]),
            complete=completion.finish_reason == "stop",
        )
        if edit is None:
            return Proposal(
                code=None,
                failure_kind="no_edit",
                reason="no SEARCH/REPLACE block or code found",
                llm_call=call,
            )
        try:
            code = codebase.apply_answer(plan.parent.code, edit, completion.text)
        except EditError as error:
            return Proposal(code=None, failure_kind="edit_rejected", reason=str(error), llm_call=call)
        return Proposal(code=code, llm_call=call, parent=plan.parent)

    def tell(self, feedback: Feedback) -> None:
        self._plans.pop(feedback.submission, None)
        self._selector.tell(feedback)
        if self._meta is not None:
            self._meta.tell(feedback)

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {SELECTION_STATE_KEY: self._selector.state()}
        if self._meta is not None:
            state[META_STATE_KEY] = self._meta.state()
        if self._initial is not None:
            state[INITIAL_STATE_KEY] = dataclasses.asdict(self._initial)
        return state

    def restore(self, state: dict[str, Any]) -> None:
        if SELECTION_STATE_KEY in state:
            self._selector.restore(state[SELECTION_STATE_KEY])
        if self._meta is not None and META_STATE_KEY in state:
            self._meta.restore(state[META_STATE_KEY])
        if INITIAL_STATE_KEY in state:
            saved = state[INITIAL_STATE_KEY]
            self._initial = Program(**{**saved, "inspiration_ids": tuple(saved["inspiration_ids"])})

    async def aclose(self) -> None:
        await self._ensemble.aclose()
