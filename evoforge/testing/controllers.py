"""An in-process controller around a recording mutator: what resume tests compare a resumed run with.

Built as the runner builds it (a real store on disk, the real sandbox, the toy task); ``Recorder``
records every request and every outcome it is handed, so that the state a resume rebuilt can be
compared with a straight run.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from evoforge.budgets import Budget
from evoforge.config import Config
from evoforge.controller import Controller
from evoforge.events import Event, EventBus, ProgramEvaluated
from evoforge.mutators.base import Feedback, Mutator, Proposal, ProposalRequest
from evoforge.runner import create_run, make_sandbox
from evoforge.storage import DB_FILENAME, SQLiteStore
from evoforge.task import load_task
from evoforge.testing.programs import TOY

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


async def run_controller(
    run_dir: Path, settings: Config, mutator: Mutator, iterations: int, stop_after: int | None = None
) -> Controller:
    """A controller on ``run_dir`` (a new run, or the one there resumed), run until its budget stops it
    or, with ``stop_after``, until that many programs are stored (a stop, with work in flight)."""
    task = load_task(TOY)
    bus = EventBus()
    async with make_sandbox(task, settings) as sandbox:
        if (run_dir / DB_FILENAME).exists():
            store = SQLiteStore.open(run_dir)
        else:
            store = await create_run(task, settings, run_dir, sandbox)
        controller = Controller(
            task=task, config=settings, store=store, sandbox=sandbox, mutator=mutator,
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
    return controller


def grids(controller: Controller) -> list[dict[object, int]]:
    """Each island's elites, named by submission."""
    return [{cell: p.submission for cell, p in island.grid.items()} for island in controller.archive.islands]
