"""The conformance suite of evaluation backends (the contract: evoforge/evaluation/backend.py).

Subclass ``BackendConformance`` in a test module and give it a ``backend_factory`` fixture: a function
``(evaluator_path, evaluation_settings) -> EvaluationBackend`` that makes an unopened backend for that
evaluator with those ``evaluation:`` keys. Every check runs real candidates through the backend: a good
program's metrics, score and artifacts; a timeout; a crash and an exception; cancellation (of the
awaiting task, and by ``aclose()``) that leaves no process; and back-pressure (never more than
``evaluation.parallel`` evaluations at once, the others waiting).
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evoforge.evaluation.backend import EvaluationBackend
from evoforge.records import Evaluation
from evoforge.testing.hostile import processes_with

BackendFactory = Callable[[Path, dict[str, Any]], EvaluationBackend]

# The candidate's ``main()`` returns its metrics; the evaluator adds an artifact of its own.
EVALUATOR = """import runpy


class Result:
    def __init__(self, metrics, artifacts):
        self.metrics = metrics
        self.artifacts = artifacts


def evaluate(program_path):
    return Result(runpy.run_path(program_path)["main"](), {"note": "from the evaluator"})
"""
GOOD = "def main():\n    print('out')\n    return {'combined_score': 2.5, 'n': 3}\n"
TIMED = (
    "import time\n\ndef main():\n    started = time.time()\n    time.sleep({seconds})\n"
    "    return {{'combined_score': 1.0, 'started': started, 'ended': time.time()}}\n"
)
# A candidate that leaves a marked process behind it, then waits: cancellation must end both.
LINGERING = (
    "import subprocess, sys, time\n\ndef main():\n"
    "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}])\n"
    "    time.sleep(600)\n    return {{'combined_score': 0.0}}\n"
)
SETTINGS = {"timeout_s": 60, "memory_mb": 1024, "parallel": 2}
SETTLE_S = 60.0  # how long a check waits for processes to appear or go (generous: a loaded machine)
LONG = {**SETTINGS, "timeout_s": 1200}  # a lingering candidate outlasts SETTLE_S: only cancelling ends it


def assert_failed(evaluation: Evaluation, reason: str) -> None:
    """A failed evaluation as the contract says: score -inf, no metrics, the reason in ``error``."""
    assert not evaluation.ok and evaluation.score == -math.inf and evaluation.metrics == {}
    assert evaluation.error is not None and reason in evaluation.error, evaluation.error
    assert evaluation.artifacts["error"] == evaluation.error


async def settle(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds, failing with ``what`` after SETTLE_S."""
    deadline = time.monotonic() + SETTLE_S
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


def most_at_once(evaluations: list[Evaluation]) -> int:
    """How many of the evaluations' candidates ran at once, at most (from the times they report)."""
    edges = sorted(
        [(e.metrics["started"], 1) for e in evaluations] + [(e.metrics["ended"], -1) for e in evaluations]
    )
    running = peak = 0
    for _, change in edges:  # an end sorts before a start at the same instant
        running += change
        peak = max(peak, running)
    return peak


class BackendConformance:
    """The checks every evaluation backend passes; needs a ``backend_factory`` fixture."""

    @pytest.fixture
    def evaluator(self, tmp_path: Path) -> Path:
        folder = tmp_path / "task"
        folder.mkdir()
        path = folder / "evaluator.py"
        path.write_text(EVALUATOR)
        return path

    async def test_good_program_metrics_score_and_artifacts(
        self, backend_factory: BackendFactory, evaluator: Path
    ) -> None:
        async with backend_factory(evaluator, SETTINGS) as backend:
            evaluation = await backend.evaluate(GOOD)
        assert evaluation.ok and evaluation.error is None, evaluation.error
        assert evaluation.score == 2.5 and evaluation.metrics == {"combined_score": 2.5, "n": 3.0}
        assert evaluation.artifacts == {"note": "from the evaluator", "stdout": "out\n"}
        assert evaluation.duration_s > 0

    async def test_timeout_is_a_failed_evaluation(
        self, backend_factory: BackendFactory, evaluator: Path
    ) -> None:
        async with backend_factory(evaluator, {**SETTINGS, "timeout_s": 1}) as backend:
            evaluation = await backend.evaluate(TIMED.format(seconds=600))
        assert_failed(evaluation, "timeout after 1 s")

    async def test_crash_and_exception_are_failed_evaluations(
        self, backend_factory: BackendFactory, evaluator: Path
    ) -> None:
        exits = "import os\n\ndef main():\n    os._exit(3)\n"
        raises = "def main():\n    raise ValueError('the candidate gave up')\n"
        async with backend_factory(evaluator, SETTINGS) as backend:
            exited, raised = await asyncio.gather(backend.evaluate(exits), backend.evaluate(raises))
        assert_failed(exited, "exited with code 3")
        assert_failed(raised, "the candidate gave up")

    async def test_cancelled_evaluation_ends_and_leaves_no_process(
        self, backend_factory: BackendFactory, evaluator: Path
    ) -> None:
        marker = f"evoforge-conformance-{uuid.uuid4().hex}"
        async with backend_factory(evaluator, LONG) as backend:
            running = asyncio.create_task(backend.evaluate(LINGERING.format(marker=marker)))
            await settle(lambda: bool(processes_with(marker)), "the candidate never started")
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running
            await settle(lambda: not processes_with(marker), "a cancelled evaluation left its process")
            evaluation = await backend.evaluate(GOOD)  # and the backend goes on serving
        assert evaluation.ok, evaluation.error

    async def test_aclose_ends_evaluations_in_flight_and_leaves_no_process(
        self, backend_factory: BackendFactory, evaluator: Path
    ) -> None:
        marker = f"evoforge-conformance-{uuid.uuid4().hex}"
        backend = backend_factory(evaluator, LONG)
        async with backend:
            running = asyncio.create_task(backend.evaluate(LINGERING.format(marker=marker)))
            await settle(lambda: bool(processes_with(marker)), "the candidate never started")
        await settle(running.done, "an evaluation outlived the backend's aclose()")
        if not running.cancelled() and running.exception() is None:
            assert not running.result().ok  # ended by the close: never a success
        await settle(lambda: not processes_with(marker), "aclose() left a candidate's process")

    async def test_back_pressure_at_most_parallel_at_once(
        self, backend_factory: BackendFactory, evaluator: Path
    ) -> None:
        async with backend_factory(evaluator, SETTINGS) as backend:
            code = TIMED.format(seconds=0.5)
            evaluations = await asyncio.gather(*(backend.evaluate(code) for _ in range(5)))
        assert all(e.ok for e in evaluations), [e.error for e in evaluations]
        assert most_at_once(evaluations) <= SETTINGS["parallel"]
        # the ones beyond ``parallel`` waited: some started only after another had ended
        first_end = min(e.metrics["ended"] for e in evaluations)
        assert sum(e.metrics["started"] >= first_end for e in evaluations) >= 5 - SETTINGS["parallel"]
