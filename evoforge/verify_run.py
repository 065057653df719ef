"""``evoforge verify RUN_DIR``: evaluate a run's best programs again, several times: the numbers to publish.

A score stored once can be luck (a noisy evaluator, a seed-dependent program) or stale (an evaluator
changed since). Each of the top K programs is evaluated ``repeats`` times in the sandbox, as a run
would; every metric is reported with its stored value, mean, min and max, and a program is flagged
when a repeat fails, when its metrics vary between repeats, or when they differ from the stored
values, beyond ``tolerance`` (relative, with an absolute floor of the same size).
"""

from __future__ import annotations

import asyncio
import heapq
import math
from dataclasses import dataclass
from pathlib import Path

from evoforge.config import parse_config
from evoforge.errors import TaskError
from evoforge.records import Evaluation, Program
from evoforge.runfiles import DB_FILENAME
from evoforge.runner import make_sandbox
from evoforge.storage import SQLiteStore
from evoforge.task import Task, load_task


@dataclass(frozen=True)
class MetricSpread:
    name: str
    stored: float | None
    mean: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class ProgramCheck:
    """The repeats of one program: what they measured and why it is flagged, if it is."""

    program_id: int
    stored_score: float
    metrics: tuple[MetricSpread, ...]
    failures: tuple[str, ...]
    flags: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def differ(a: float, b: float, tolerance: float) -> bool:
    if a == b:  # infinities included
        return False
    return not math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def check_program(program: Program, evaluations: list[Evaluation], tolerance: float) -> ProgramCheck:
    failures = tuple(e.error or "failed" for e in evaluations if not e.ok)
    good = [e for e in evaluations if e.ok]
    names = sorted({name for e in good for name in e.metrics} | set(program.metrics))
    spreads: list[MetricSpread] = []
    flags: list[str] = [f"{len(failures)} of {len(evaluations)} repeats failed"] if failures else []
    for name in names:
        values = [float(e.metrics[name]) for e in good if name in e.metrics]
        stored = program.metrics.get(name)
        if not values:
            if good:
                flags.append(f"{name}: stored but no longer measured")
            continue
        spread = MetricSpread(name, stored, math.fsum(values) / len(values), min(values), max(values))
        spreads.append(spread)
        if differ(spread.minimum, spread.maximum, tolerance):
            flags.append(f"{name}: varies between repeats ({spread.minimum:.10g} to {spread.maximum:.10g})")
        elif stored is not None and differ(float(stored), spread.mean, tolerance):
            flags.append(f"{name}: stored {float(stored):.10g}, measured {spread.mean:.10g}")
    return ProgramCheck(program.id, program.score, tuple(spreads), failures, tuple(flags))


def top_programs(store: SQLiteStore, count: int) -> list[Program]:
    valid = (p for p in store.programs() if p.is_valid)
    return heapq.nlargest(count, valid, key=lambda p: (p.score, -p.id))


async def verify_run(run_dir: Path, *, top: int, repeats: int, tolerance: float) -> list[ProgramCheck]:
    """Evaluate the ``top`` best programs of the run ``repeats`` times each; one check per program."""
    with SQLiteStore.open(run_dir, readonly=True) as store:
        info = store.info()
        programs = top_programs(store, top)
    try:
        task: Task = load_task(info.task_dir)
    except TaskError as error:
        raise TaskError(f"{error} (the task of the run in {run_dir})") from None
    config = parse_config(dict(info.config), f"{run_dir / DB_FILENAME} (stored config)")
    slots = asyncio.Semaphore(config.evaluation.parallel)
    async with make_sandbox(task, config) as sandbox:

        async def once(program: Program) -> Evaluation:
            async with slots:
                return await sandbox.evaluate(program.code, task.program_filename)

        results = await asyncio.gather(*(once(p) for p in programs for _ in range(repeats)))
    return [
        check_program(program, list(results[i * repeats : (i + 1) * repeats]), tolerance)
        for i, program in enumerate(programs)
    ]
