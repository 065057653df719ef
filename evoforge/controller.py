"""The asyncio loop: select → propose → evaluate → store, many generations in flight.

Reproducibility by design: every generation attempt gets a submission number ``s`` and its own
RNG seeded from ``(seed, s)``; results are *stored* as soon as they exist (nothing evaluated is
lost on a crash) but *applied* to the archive in submission order, and the parent of ``s`` is
drawn from the archive holding exactly the results of submissions ``< s - window + 1``. With a
deterministic model and evaluator the sequence of programs (ordered by submission) is therefore
the same at any concurrency; the only lag is the window, the number of generations in flight.
Mutators are asked for children synchronously when a submission is made and told outcomes when they
are applied, so what they learn follows the same order (see mutators/base.py).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import time
from pathlib import Path

from evoforge import codebase
from evoforge.budgets import Budget
from evoforge.config import Config
from evoforge.database.archive import Archive
from evoforge.database.dedup_evaluation import Deduplicator
from evoforge.database.features import FeatureReference, compute_features
from evoforge.database.novelty import TOO_SIMILAR, Novelty
from evoforge.errors import TaskError
from evoforge.evaluation.backend import BackendUnavailable, EvaluationBackend
from evoforge.evaluation.launcher_handle import Inputs
from evoforge.events import EventBus, GenerationFailed, ProgramEvaluated, TokensUsed
from evoforge.llm.judge import JudgePanel
from evoforge.mutators.base import MUTATOR_STATE_KEY, Mutator, Proposal, ProposalRequest
from evoforge.mutators.repair import Child, Repairer
from evoforge.prompts import meta as meta_prompts
from evoforge.records import Candidate, Evaluation, FailedGeneration, LLMCall, Program
from evoforge.replay import Outcome, SubmissionOrder, replay
from evoforge.search_mode import SearchMode
from evoforge.storage.base import ProgramStore
from evoforge.task import Task

log = logging.getLogger(__name__)


def _score(program: Program | None) -> float:
    return program.score if program is not None else -math.inf


async def evaluate_initial(
    task: Task, sandbox: EvaluationBackend, inputs: Inputs | None = None
) -> Evaluation:
    """Evaluate the task's initial program in the sandbox; it must succeed for a run to start."""
    evaluation = await codebase.evaluate(sandbox, task, task.initial_code, inputs)
    if not evaluation.ok or not math.isfinite(evaluation.score):
        reason = evaluation.error or f"score is {evaluation.score}"
        raise TaskError(f"{task.program_path}: the initial program failed evaluation: {reason}")
    return evaluation


class Controller:
    """Schedules generations and evaluations; the only writer of the run's store."""

    def __init__(
        self,
        *,
        task: Task,
        config: Config,
        store: ProgramStore,
        sandbox: EvaluationBackend,
        mutator: Mutator,
        budget: Budget,
        bus: EventBus,
        run_dir: Path,
    ) -> None:
        self._task = task
        self._config = config
        self._store = store
        self._sandbox = sandbox
        self._mutator = mutator
        self._budget = budget
        self._bus = bus
        self._llm_slots = asyncio.Semaphore(config.llm.max_inflight)
        self._eval_slots = asyncio.Semaphore(config.evaluation.parallel)
        self.window = config.llm.max_inflight + config.evaluation.parallel
        self._completed: asyncio.Queue[Outcome | BaseException] = asyncio.Queue()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._calling: set[int] = set()  # submissions whose model call is in flight, for spending caps
        self._consecutive_failures = 0
        self._repairer = Repairer(config.repair, config.llm)
        self._judges = JudgePanel(config.judges, config.llm)
        initial = store.get_program(0)
        if initial is None:
            raise TaskError(f"{run_dir}: the run holds no evaluated program")
        self._reference = FeatureReference.from_code(initial.code)
        self._saved_state: str | None = None
        saved = store.get_state(MUTATOR_STATE_KEY)
        if saved is not None:  # first: replay tells it again what it was told (and it ignores)
            mutator.restore(saved)
            self._saved_state = json.dumps(saved, sort_keys=True)
        archive = Archive(config.database, self._reference, objectives=config.objectives, seed=config.seed)
        self._novelty = Novelty.from_config(config.database)
        policy = self._novelty.policy if self._novelty is not None else None
        self._order = SubmissionOrder(archive, mutator, window=self.window, seed=config.seed, novelty=policy)
        self._dedup = Deduplicator(config.dedup, self.window, task.program_filename, store)
        self._next_submission = store.max_submission() + 1
        self._search = SearchMode(config.search_mode, store)
        self._remakes = replay(store, self._order, self._dedup.code, self._next_submission)
        self.archive = archive
        self._saved_island_revision = 0
        self.evaluated = store.count_programs()
        self.failed = store.count_failed_generations()
        held = (o.program for o in self._order.ready.values() if o.program is not None and o.program.is_valid)
        self.best: Program | None = max((archive.best(), *held), key=_score, default=None)

    @property
    def best_score(self) -> float:
        return self.best.score if self.best is not None else -math.inf

    @property
    def best_solution(self) -> str | None:
        """Search mode: the solution (JSON text) the best program returned, if it returned one."""
        return self._store.solution_of(self.best.id) if self.best is not None else None

    def request_stop(self, reason: str) -> None:
        """Stop submitting; in-flight work is cancelled and recorded. Safe from a signal handler."""
        self._budget.request_stop(reason)
        self._completed.put_nowait(asyncio.CancelledError(reason))

    async def run(self) -> str:
        """Run until a budget or a signal stops it; return the stop reason."""
        loop = asyncio.get_running_loop()
        if self._budget.max_wall_time_s is not None:
            remaining = max(0.0, self._budget.max_wall_time_s - self._budget.elapsed())
            reason = f"reached the wall-time limit of {self._budget.max_wall_time_s:g} s"
            timer = loop.call_later(remaining, self.request_stop, reason)
        else:
            timer = None
        try:
            self._budget.update(self.evaluated, self.best_score, self._consecutive_failures)
            self._fill_window()
            while self._inflight:
                item = await self._completed.get()
                if isinstance(item, BaseException):
                    if isinstance(item, asyncio.CancelledError):
                        break
                    if isinstance(item, BackendUnavailable):  # a lost cluster: stop cleanly, saying why
                        self.request_stop(str(item))
                        continue
                    raise item
                self._record(item)
                self._budget.update(self.evaluated, self.best_score, self._consecutive_failures)
                self._fill_window()
        finally:
            if timer is not None:
                timer.cancel()
            await self._cancel_inflight()
            if self._novelty is not None:
                await self._novelty.aclose()
            await self._repairer.aclose()
            await self._judges.aclose()
        return self._budget.stop_reason or "finished"

    def _fill_window(self) -> None:
        """Submit generations while the window, the budget and the iteration target allow.

        Submissions a resume makes again go first (they are the oldest). The window condition also
        bounds what is in flight: every running submission lies between the oldest unfinished one
        and the next, fewer than ``window`` apart.
        """
        while self._remakes and self._may_submit():
            request, island = self._remakes.pop(0)
            self._launch(request, None, island)
        while (
            not self._remakes
            and self._may_submit()
            and self._next_submission - self.window < self._order.first_unfinished()
        ):
            submission = self._next_submission
            self._next_submission += 1
            request, island = self._order.request(submission)
            self._launch(request, self._mutator.ask(request), island)
        self._save_mutator_state()
        self._save_island_log()

    def _may_submit(self) -> bool:
        return (
            not self._budget.stopping
            and self.evaluated + len(self._inflight) < self._budget.iterations
            and self._budget.may_call(len(self._calling))  # a spending cap stops submitting, not the work
        )

    def _launch(self, request: ProposalRequest, proposal: Proposal | None, island: int) -> None:
        self._search.pin(request.submission, self.archive.best())
        task = asyncio.create_task(
            self._generate(request, proposal, island), name=f"generation-{request.submission}"
        )
        self._inflight[request.submission] = task
        if proposal is None:
            self._calling.add(request.submission)

    def _save_mutator_state(self) -> None:
        """Keep what the mutator learned in the store, before any child just asked can be stored."""
        state = self._mutator.state()
        if state is None:
            return
        text = json.dumps(state, sort_keys=True)
        if text != self._saved_state:
            with self._store.transaction():
                self._store.set_state(MUTATOR_STATE_KEY, state)
                if snippets := meta_prompts.rows_in(state):  # the meta_prompts table mirrors them
                    self._store.save_meta_prompts(snippets)
            self._saved_state = text

    def _save_island_log(self) -> None:
        """Keep the migrations and resets the archive made where the dashboard reads them."""
        log = self.archive.log
        if log.revision != self._saved_island_revision:
            self._store.set_state(log.STATE_KEY, log.as_state())
            self._saved_island_revision = log.revision

    def _record(self, outcome: Outcome) -> None:
        """Count a finished submission and announce it; archive application waits for its turn."""
        self._inflight.pop(outcome.submission, None)
        self._calling.discard(outcome.submission)
        self._order.finish(outcome)
        if outcome.program is not None:
            program = outcome.program
            self.evaluated += 1
            new_best = program.is_valid and program.score > self.best_score
            if new_best:
                self.best = program
            self._consecutive_failures = 0
            self._bus.emit(ProgramEvaluated(program, new_best, self.evaluated, len(self._inflight)))
        elif outcome.failure is not None:
            self.failed += 1
            self._consecutive_failures += 1
            self._bus.emit(GenerationFailed(outcome.failure, self.failed))

    async def _generate(self, request: ProposalRequest, proposal: Proposal | None, island: int) -> None:
        """One generation attempt; its outcome (or a fatal error) goes to the completion queue."""
        try:
            outcome = await self._attempt(request, proposal, island)
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # a fatal provider error or a bug: the loop decides
            self._completed.put_nowait(error)
            return
        self._completed.put_nowait(outcome)

    async def _attempt(self, request: ProposalRequest, proposal: Proposal | None, island: int) -> Outcome:
        inputs = self._search.inputs(request.submission)
        if proposal is None:
            async with self._llm_slots:
                proposal = await self._mutator.propose(request)
        repair = self._repairer.session(request)
        child = await self._try_child(request, proposal, island, inputs, repaired=False)
        # Up to repair.max_attempts follow-ups in the same conversation (mutators/repair.py).
        while repair.due(child):
            async with self._llm_slots:
                proposal = await repair.ask(child)
            child = await self._try_child(request, proposal, island, inputs, repaired=True)
        if child.evaluation is None or child.candidate is None:
            kind = child.failure_kind or "no_edit"
            return self._fail(request, kind, child.reason, child.llm_call_id, duplicate_of=child.duplicate_of)
        evaluation = await self._judges.grade(
            request.submission, child.candidate.code, child.evaluation, self._record_call
        )
        return self._store_child(request, child, evaluation)

    async def _try_child(
        self, request: ProposalRequest, proposal: Proposal, island: int, inputs: Inputs, *, repaired: bool
    ) -> Child:
        """Record the proposal's model call, then check and evaluate its child; nothing else is stored yet."""
        llm_call_id = self._store_llm_call(proposal)
        if proposal.code is None:
            return Child(
                proposal, llm_call_id, failure_kind=proposal.failure_kind, reason=proposal.reason or ""
            )
        twin = self._dedup.twin(proposal.code, request.submission)
        if twin is not None:
            reason = f"the child is identical to program {twin}, already evaluated"
            return Child(proposal, llm_call_id, failure_kind="duplicate", reason=reason, duplicate_of=twin)
        novelty = None
        if self._novelty is not None:
            verdict, too_similar = await self._novelty.judge(request.submission, proposal.code)
            if too_similar is not None:
                return Child(proposal, llm_call_id, failure_kind=TOO_SIMILAR, reason=too_similar)
            novelty = verdict.novelty if verdict is not None else None
        parent = proposal.parent or request.parent
        candidate = Candidate(
            submission=request.submission,
            code=proposal.code,
            parent_id=parent.id,
            inspiration_ids=tuple(p.id for p in (*request.top, *request.diverse)),
            island=island,
            generation=parent.generation + 1,
            mutator=proposal.mutator or self._mutator.name,
            llm_call_id=llm_call_id,
            repaired=repaired,
        )
        async with self._eval_slots:
            evaluate = functools.partial(codebase.evaluate, self._sandbox, self._task, candidate.code, inputs)
            evaluation = await self._dedup.evaluate(request.submission, evaluate)
        return Child(proposal, llm_call_id, candidate, evaluation, novelty=novelty)

    def _store_child(self, request: ProposalRequest, child: Child, evaluation: Evaluation) -> Outcome:
        candidate = child.candidate
        assert candidate is not None
        dimensions = self._config.database.feature_dimensions
        features = compute_features(
            candidate.code, evaluation.metrics, self._reference, dimensions, child.novelty
        )
        program = self._store.add_program(candidate, evaluation, features)
        self._dedup.stored(program, evaluation)
        return Outcome(request.submission, program=program)

    def _store_llm_call(self, proposal: Proposal) -> int | None:
        for call in proposal.side_calls:
            self._record_call(call)
        return None if proposal.llm_call is None else self._record_call(proposal.llm_call)

    def _record_call(self, call: LLMCall) -> int:
        self._bus.emit(TokensUsed(call.prompt_tokens, call.completion_tokens))
        self._calling.discard(call.submission)
        self._budget.spending.add(call.cost_usd, call.prompt_tokens + call.completion_tokens)
        return self._store.add_llm_call(call)

    def _fail(
        self,
        request: ProposalRequest,
        kind: str,
        reason: str,
        llm_call_id: int | None,
        duplicate_of: int | None = None,
    ) -> Outcome:
        failure = FailedGeneration(
            submission=request.submission,
            kind=kind,
            reason=reason,
            parent_id=request.parent.id,
            created_at=time.time(),
            llm_call_id=llm_call_id,
            duplicate_of=duplicate_of,
        )
        self._store.add_failed_generation(failure)
        return Outcome(request.submission, failure=failure)

    async def _cancel_inflight(self) -> None:
        """Cancel what is still running; keep what finished meanwhile, record the rest as cancelled."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        while not self._completed.empty():
            item = self._completed.get_nowait()
            if isinstance(item, Outcome):
                self._record(item)
        for submission in sorted(self._inflight):
            failure = FailedGeneration(
                submission=submission,
                kind="cancelled",
                reason=self._budget.stop_reason or "the run stopped",
                parent_id=None,
                created_at=time.time(),
            )
            self._store.add_failed_generation(failure)
        self._inflight.clear()
