"""Resume replays the live run: a resumed controller continues exactly as an uninterrupted one.

Controllers are built as the runner builds them (a real store on disk, the real sandbox, the toy
task) around a scripted mutator that records every request and every outcome it is handed, so the
state a resume rebuilt (archive, mutator tells, the window's finished outcomes, notes on rejected
edits, duplicate digests) is compared with a straight run through what the controller does with it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evoforge.config import Config, parse_config
from evoforge.controller import Controller
from evoforge.database.archive import Archive
from evoforge.database.features import FeatureReference
from evoforge.records import Candidate, Evaluation, FailedGeneration, RunInfo
from evoforge.replay import CodeIndex, SubmissionOrder, replay, stored_outcomes
from evoforge.storage import SQLiteStore
from evoforge.testing.controllers import Recorder, grids
from evoforge.testing.controllers import run_controller as run_recorded
from evoforge.testing.programs import program_table

ITERATIONS = 45


def config() -> Config:
    return parse_config(
        {"seed": 3, "target_score": None, "llm": {"max_inflight": 4}, "evaluation": {"parallel": 2}}
    )


async def run_controller(
    run_dir: Path, iterations: int, stop_after: int | None = None
) -> tuple[Controller, Recorder]:
    """A controller on ``run_dir`` with a fresh Recorder (evoforge/testing/controllers.py)."""
    recorder = Recorder()
    return await run_recorded(run_dir, config(), recorder, iterations, stop_after), recorder


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
