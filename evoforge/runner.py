"""Wiring of one run, start or resume: task → sandbox → store → archive → controller → best program.

This is the one function that reads like the system diagram; everything it calls has one job. What a
run holds (the run lock, the store, the mutator's network clients, the sandbox's processes, cgroups
and directories) is entered in one exit stack, so every way out closes all of it, in reverse order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from evoforge import __version__, codebase
from evoforge.budgets import Budget
from evoforge.config import Config, parse_config
from evoforge.controller import Controller, evaluate_initial
from evoforge.database.dedup_evaluation import initial_fingerprint
from evoforge.database.features import FeatureReference, check_dimensions, compute_features
from evoforge.database.pareto import check_objectives
from evoforge.errors import ProviderError, StoreError, TaskError
from evoforge.evaluation.backend import EvaluationBackend, make_backend
from evoforge.events import EventBus, RunStarted, RunStopped
from evoforge.failstreak import FailureStreak
from evoforge.mutators.base import Mutator
from evoforge.mutators.mixing import Mix
from evoforge.records import Candidate, Evaluation, Program, RunInfo
from evoforge.runlock import RunLock
from evoforge.search_mode import check_search_mode, evaluation_inputs
from evoforge.stopsignals import SignalStop
from evoforge.storage import DB_FILENAME, SQLiteStore
from evoforge.task import Task, load_task

log = logging.getLogger(__name__)

BEST_STEM = "best_program"


@dataclass(frozen=True)
class RunResult:
    """What a finished (or stopped) run leaves behind."""

    run_dir: Path
    best_program_id: int | None
    best_code: str | None
    best_score: float
    best_metrics: dict[str, float]
    best_path: Path | None
    evaluated: int
    failed_generations: int
    stop_reason: str
    signal_number: int | None = None


def make_mutator(task: Task, config: Config) -> Mutator:
    """The mix of mutators a config asks for; with no model and no ``mutators`` key, tune and gp."""
    mix = Mix.from_config(task, config)
    if config.mutators is None and not config.llm.models:
        log.info("no language model configured: using the offline mutators tune and gp")
    return mix


def make_sandbox(task: Task, config: Config) -> EvaluationBackend:
    """The backend ``evaluation.backend`` names (this machine's sandbox, or a Ray cluster's), with every
    layer ``config.sandbox`` asks for; fails closed on a missing requirement. The caller owns it:
    ``async with``."""
    return make_backend(task.evaluator_path, config, task.evaluator_kind)


async def evaluate_program(task: Task, config: Config, code: str) -> Evaluation:
    """Evaluate one program as a run would, in a sandbox of its own (``evoforge eval``); the other
    files of a multi-file task are read from the task folder, and search mode hands it no solution."""
    if not codebase.is_bundle(code):
        code = codebase.with_files(dataclasses.replace(task, initial_code=code), config.files).initial_code
    async with make_sandbox(task, config) as sandbox:
        return await codebase.evaluate(sandbox, task, code, evaluation_inputs(config.search_mode))


def export_best(run_dir: Path, task: Task, best: Program | None, solution: str | None = None) -> Path | None:
    """Write the best program next to the database so it survives without evoforge (a multi-file
    program as a folder of its files), and in search mode its solution as ``best_solution.json``."""
    if best is None:
        return None
    if solution is not None:
        (run_dir / "best_solution.json").write_text(solution, encoding="utf-8")
    if codebase.is_bundle(best.code):
        path = codebase.write_files(best.code, run_dir / BEST_STEM)
    else:
        path = run_dir / f"{BEST_STEM}{task.program_path.suffix}"
        path.write_text(best.code, encoding="utf-8")
    (run_dir / f"{BEST_STEM}.json").write_text(
        json.dumps({"id": best.id, "score": best.score, "metrics": best.metrics}, indent=2), encoding="utf-8"
    )
    return path


def _check_new_run_dir(run_dir: Path, task: Task) -> None:
    """Refuse a run directory that cannot take a new run, saying whose run is there and what to do."""
    if run_dir.exists() and not run_dir.is_dir():
        raise StoreError(f"{run_dir}: not a directory (--run-dir names the folder the run is stored in)")
    if not (run_dir / DB_FILENAME).exists():
        return
    with SQLiteStore.open(run_dir, readonly=True) as existing:
        info = existing.info()
    if info.task_dir == str(task.directory):
        raise StoreError(
            f"{run_dir} already holds a run of this task: continue it with `evoforge resume {run_dir}` "
            "or choose another --run-dir"
        )
    raise StoreError(
        f"{run_dir} already holds a run of another task, {info.task_name} ({info.task_dir}): "
        "choose another --run-dir"
    )


async def create_run(task: Task, config: Config, run_dir: Path, sandbox: EvaluationBackend) -> SQLiteStore:
    """Evaluate the initial program, then create the run's store holding it as program 0."""
    inputs = evaluation_inputs(config.search_mode)
    evaluation = await evaluate_initial(task, sandbox, inputs)
    evaluate = functools.partial(codebase.evaluate, sandbox, task, task.initial_code, inputs)
    evaluation = await initial_fingerprint(config.dedup, evaluation, evaluate)
    check_dimensions(config.database.feature_dimensions, evaluation.metrics)
    check_objectives(config.objectives, evaluation.metrics)
    info = RunInfo(
        task_dir=str(task.directory),
        task_name=task.name,
        config=config.model_dump(mode="json"),
        seed=config.seed,
        created_at=time.time(),
        evoforge_version=__version__,
    )
    initial = Candidate(
        submission=0,
        code=task.initial_code,
        parent_id=None,
        inspiration_ids=(),
        island=0,
        generation=0,
        mutator="initial",
    )
    reference = FeatureReference.from_code(task.initial_code)
    features = compute_features(
        task.initial_code, evaluation.metrics, reference, config.database.feature_dimensions
    )
    return SQLiteStore.create(run_dir, info, (initial, evaluation, features))


def open_run(run_dir: Path, iterations: int | None) -> tuple[SQLiteStore, Task, Config]:
    """Open an existing run with the task and config it was started with."""
    store = SQLiteStore.open(run_dir)
    info = store.info()
    try:
        task = load_task(info.task_dir)
    except TaskError as error:
        store.close()
        raise TaskError(f"{error} (the task of the run in {run_dir})") from None
    data = dict(info.config)
    if iterations is not None:
        data["iterations"] = iterations
    return store, task, parse_config(data, f"{run_dir / DB_FILENAME} (stored config)")


async def run_evolution(
    run_dir: Path,
    *,
    task: Task | None = None,
    config: Config | None = None,
    iterations: int | None = None,
    bus: EventBus | None = None,
    handle_signals: bool = False,
) -> RunResult:
    """Start a new run (``task`` and ``config`` given) or resume the one in ``run_dir``."""
    bus = bus or EventBus()
    run_dir = run_dir.expanduser().resolve()
    resumed = task is None
    async with contextlib.AsyncExitStack() as stack:
        if resumed:
            if (run_dir / DB_FILENAME).is_file():  # lock first: a second resume is refused before any work
                stack.enter_context(RunLock(run_dir))
            store, task, config = open_run(run_dir, iterations)
            stack.enter_context(store)
        else:
            assert config is not None
            if iterations is not None:
                config = config.model_copy(update={"iterations": iterations})
            _check_new_run_dir(run_dir, task)
        task = codebase.with_files(task, config.files)
        check_search_mode(
            config.search_mode, config.evaluation.timeout_s, {task.program_filename, *task.files}
        )
        mutator = make_mutator(task, config)
        stack.push_async_callback(mutator.aclose)  # its network clients must not outlive the run
        sandbox = await stack.enter_async_context(make_sandbox(task, config))  # the one of this run
        if not resumed:
            store = stack.enter_context(await create_run(task, config, run_dir, sandbox))
            stack.enter_context(RunLock(run_dir))
        store.set_state("iterations", config.iterations)
        controller = Controller(
            task=task,
            config=config,
            store=store,
            sandbox=sandbox,
            mutator=mutator,
            budget=Budget.from_config(config, spent=store.spending_by_model()),
            bus=bus,
            run_dir=run_dir,
        )
        streak = FailureStreak()
        bus.subscribe(streak)
        bus.emit(
            RunStarted(
                run_dir=run_dir,
                task_name=task.name,
                iterations=config.iterations,
                evaluated=controller.evaluated,
                best_score=controller.best_score,
                resumed=resumed,
                models=tuple(m.name for m in config.llm.models),
            )
        )
        try:
            with SignalStop(
                controller.request_stop,
                handle_signals,
                # a late Ctrl-C still keeps the best program (and solution)
                on_abort=lambda: export_best(run_dir, task, controller.best, controller.best_solution),
            ) as signals:
                reason = await controller.run()
        except ProviderError as error:  # fatal (a revoked key, say): keep what the run found, then say why
            _stopped(bus, run_dir, task, controller, "a fatal model error (below)")
            if controller.evaluated > 1 or error.kind not in SETTINGS_MISTAKES:
                raise
            # Resuming would repeat the same call (the run keeps its config): starting over loses nothing.
            hint = f"; {run_dir} holds only the initial program: remove it to start over with other settings"
            raise ProviderError(f"{error}{hint}", fatal=True, kind=error.kind) from None
        best_path = _stopped(bus, run_dir, task, controller, reason)
        if streak.stopped_the_run and signals.signal_received is None:
            raise streak.error()  # a run that only failed is a failure, not an ordinary stop
        best = controller.best
        return RunResult(
            run_dir=run_dir,
            best_program_id=best.id if best else None,
            best_code=best.code if best else None,
            best_score=controller.best_score,
            best_metrics=dict(best.metrics) if best else {},
            best_path=best_path,
            evaluated=controller.evaluated,
            failed_generations=controller.failed,
            stop_reason=reason,
            signal_number=signals.signal_received,
        )


SETTINGS_MISTAKES = frozenset({"auth", "unknown_model", "unreachable"})  # fatal errors a resume would repeat


def _stopped(bus: EventBus, run_dir: Path, task: Task, controller: Controller, reason: str) -> Path | None:
    """Export the best program and announce the stop; the path of ``best_program``, if any."""
    best_path = export_best(run_dir, task, controller.best, controller.best_solution)
    bus.emit(RunStopped(reason, controller.evaluated, controller.failed, controller.best, best_path))
    return best_path
