"""Resume replays the live run: a resumed controller continues exactly as an uninterrupted one.

Controllers are built as the runner builds them (a real store on disk, the real sandbox, the toy
task) around a scripted mutator that records every request and every outcome it is handed, so the
state a resume rebuilt (archive, mutator tells, the window's finished outcomes, notes on rejected
edits, duplicate digests) is compared with a straight run through what the controller does with it.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from evoforge.budgets import Budget
from evoforge.config import Config, parse_config
from evoforge.controller import Controller
from evoforge.database.archive import Archive
from evoforge.database.features import FeatureReference
from evoforge.events import Event, EventBus, ProgramEvaluated
from evoforge.mutators.base import Feedback, Mutator, Proposal, ProposalRequest
from evoforge.records import Candidate, Evaluation, FailedGeneration, RunInfo
from evoforge.replay import CodeIndex, SubmissionOrder, replay, stored_outcomes
from evoforge.runner import create_run, make_sandbox
from evoforge.storage import DB_FILENAME, SQLiteStore
from evoforge.task import load_task
from evoforge.testing.programs import TOY, program_table

ITERATIONS = 45
X_LINE = re.compile(r"^    x = .*$", re.MULTILINE)


class Recorder(Mutator):
    """Proposes through ``propose``, as ``llm`` does: from the request's RNG, an edit rejected with a
    note naming the submission (15 %), the parent's own code, a duplicate (10 %), or the parent with a
    new ``x``. Records what each request held and every outcome told, in order."""

    name = "recorder"

    def __init__(self) -> None:
        self.requests: dict[int, tuple[object, ...]] = {}
        self.tells: list[tuple[object, ...]] = []

    def remake(self, request: ProposalRequest) -> bool:
        return True

    async def propose(self, request: ProposalRequest) -> Proposal:
        self.requests[request.submission] = (
            request.parent.submission,
            tuple(p.submission for p in request.top),
            tuple(p.submission for p in request.diverse),
            request.rejections,
        )
        await asyncio.sleep(0.005)  # keeps the window full, so that a stop cancels work in flight
        draw = request.rng.random()
        if draw < 0.15:
            return Proposal(
                None, "edit_rejected", f"SEARCH block of submission {request.submission} not found"
            )
        if draw < 0.25:
            return Proposal(request.parent.code)
        return Proposal(X_LINE.sub(f"    x = {request.rng.uniform(0, 8):.4f}", request.parent.code))

    def tell(self, feedback: Feedback) -> None:
        program = feedback.program.submission if feedback.program is not None else None
        self.tells.append((feedback.submission, program, int(feedback.status), feedback.failure))


def config() -> Config:
    return parse_config(
        {"seed": 3, "target_score": None, "llm": {"max_inflight": 4}, "evaluation": {"parallel": 2}}
    )


async def run_controller(
    run_dir: Path, iterations: int, stop_after: int | None = None
) -> tuple[Controller, Recorder]:
    """A controller on ``run_dir`` (a new run, or the one there resumed), run until its budget stops it
    or, with ``stop_after``, until that many programs are stored (a stop, with work in flight)."""
    task, settings, recorder = load_task(TOY), config(), Recorder()
    bus = EventBus()
    async with make_sandbox(task, settings) as sandbox:
        if (run_dir / DB_FILENAME).exists():
            store = SQLiteStore.open(run_dir)
        else:
            store = await create_run(task, settings, run_dir, sandbox)
        controller = Controller(
            task=task, config=settings, store=store, sandbox=sandbox, mutator=recorder,
            budget=Budget.from_config(settings, iterations), bus=bus, run_dir=run_dir,
        )  # fmt: skip

        def stop(event: Event) -> None:
            if (
                isinstance(event, ProgramEvaluated)
                and stop_after is not None
                and event.evaluated >= stop_after
            ):
                controller.request_stop("stopped by the test")

        bus.subscribe(stop)
        with store:
            await controller.run()
    return controller, recorder


def grids(controller: Controller) -> list[dict[object, int]]:
    """Each island's elites, named by submission (ids follow completion order)."""
    return [{cell: p.submission for cell, p in island.grid.items()} for island in controller.archive.islands]


@pytest.mark.parametrize("stop", ["budget", "in flight"])
def test_a_resumed_controller_continues_as_the_uninterrupted_one(tmp_path: Path, stop: str) -> None:
    straight, full = asyncio.run(run_controller(tmp_path / "straight", ITERATIONS))
    if stop == "budget":
        _, before = asyncio.run(run_controller(tmp_path / "stopped", 20))
    else:
        _, before = asyncio.run(run_controller(tmp_path / "stopped", ITERATIONS, stop_after=20))
    second, after = asyncio.run(run_controller(tmp_path / "stopped", ITERATIONS))

    assert program_table(tmp_path / "stopped") == program_table(tmp_path / "straight")
    # The resume told the mutator again everything it had been told, then went on, in order.
    assert after.tells == full.tells
    assert before.tells == full.tells[: len(before.tells)]
    # Every request, those the stop cut off and the resume made again included, held what it held
    # in the straight run: the same parent, inspirations and notes on rejected edits.
    remade = before.requests.keys() & after.requests.keys()
    assert all(before.requests[s] == after.requests[s] for s in remade)
    assert before.requests | after.requests == full.requests
    assert grids(second) == grids(straight)
    assert (second.evaluated, second.failed, second.best_score) == (
        straight.evaluated, straight.failed, straight.best_score,
    )  # fmt: skip
    if stop == "in flight":
        assert remade, "the stop cancelled nothing in flight"
    # What the comparison covers did happen after the stop: rejection notes shown, duplicates caught.
    resumed_from = min(after.requests)
    assert any(after.requests[s][3] for s in after.requests)
    with SQLiteStore.open(tmp_path / "stopped", readonly=True) as store:
        kinds = {(f.kind, f.submission >= resumed_from) for f in store.failed_generations_by_submission()}
    assert {("duplicate", True), ("edit_rejected", True)} <= kinds


def failure(submission: int, kind: str) -> FailedGeneration:
    return FailedGeneration(submission, kind, f"{kind} {submission}", 0, 0.0)


def test_stored_outcomes_take_a_remade_result_over_its_cancelled_attempt(tmp_path: Path) -> None:
    info = RunInfo("/tasks/t", "t", {}, 0, 0.0, "0.1.0")
    evaluation = Evaluation({"combined_score": 1.0}, {}, 1.0, True, None, 0.1)
    with SQLiteStore.create(tmp_path / "run", info) as store:
        for submission in (0, 2, 4):
            store.add_program(
                Candidate(submission, f"x = {submission}\n", None, (), 0, 0, "m"), evaluation, {}
            )
        for submission, kind in [(4, "cancelled"), (1, "no_edit"), (3, "cancelled"), (5, "cancelled")]:
            store.add_failed_generation(failure(submission, kind))
        store.add_failed_generation(failure(5, "duplicate"))  # a resume made 5 again
        store.add_failed_generation(failure(6, "cancelled"))  # and stopped again before 6 ended
        outcomes = [
            (o.submission, o.program.submission if o.program else None, o.failure.kind if o.failure else None)
            for o in stored_outcomes(store)
        ]
        by_submission = [(f.submission, f.kind) for f in store.failed_generations_by_submission()]
    assert outcomes == [
        (0, 0, None),
        (1, None, "no_edit"),
        (2, 2, None),
        (4, 4, None),
        (5, None, "duplicate"),
    ]
    assert by_submission == [(1, "no_edit"), (3, "cancelled"), (4, "cancelled"), (5, "cancelled"),
                             (5, "duplicate"), (6, "cancelled")]  # fmt: skip


def test_replay_makes_again_each_unfinished_submission_the_window_still_held(tmp_path: Path) -> None:
    """Window 6, last recorded submission 12: 7 to 12 may have been in flight at the stop, 3 not."""
    settings = config()
    evaluation = Evaluation({"combined_score": 1.0}, {}, 1.0, True, None, 0.1)
    features = {"code_length": 10.0, "diversity": 0.0}
    info = RunInfo("/tasks/t", "t", {}, 0, 0.0, "0.1.0")
    with SQLiteStore.create(tmp_path / "run", info) as store:
        for submission in (0, 1, 2, 4, 5, 6, 8, 10, 12):
            parent = None if submission == 0 else 0
            candidate = Candidate(submission, f"x = {submission}\n", parent, (), 0, 1, "m")
            store.add_program(candidate, evaluation, features)
        store.add_failed_generation(failure(9, "cancelled"))
        store.add_failed_generation(failure(11, "no_edit"))
        mutator = Recorder()
        order = SubmissionOrder(Archive(settings.database, FeatureReference.from_code("x = 0\n")), mutator,
                                window=6, seed=settings.seed)  # fmt: skip
        remakes = replay(store, order, CodeIndex(6), store.max_submission() + 1)
    assert [request.submission for request, _ in remakes] == [7, 9]
    assert mutator.tells == [(s, s, 0, None) for s in (1, 2)] + [(3, None, 0, "lost")] + [
        (s, s, 0, None) for s in (4, 5, 6)
    ]  # applied through 12 - 6, in order; the first remake (7) drew its parent after 1
    assert sorted(order.ready) == [8, 10, 11, 12]
