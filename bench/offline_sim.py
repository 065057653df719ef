"""The offline mutators driven in process on the held-out problems, for a budget of evaluations.

A quick stand-in for ``bench/offline.py`` when choosing defaults: no sandbox, no archive (the parent
is always the best program so far), the mutators' real ask/tell protocol with outcomes told a window
of submissions late, as the controller tells them. The points are read from the child's code with
``ast.literal_eval`` (nothing is executed) and scored by the task's own ``score_points``.

    python bench/offline_sim.py --evaluations 3000 --set mutators.tune=0.6 --set mutators.refine=0.3
"""

from __future__ import annotations

import argparse
import ast
import math
import statistics
import time
from types import ModuleType

from offline import HELDOUT, load_module, share

from evoforge.config import apply_override, parse_config
from evoforge.database.archive import AddStatus
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.mutators.mixing import Mix
from evoforge.records import Program
from evoforge.replay import submission_rng
from evoforge.task import load_task


def points_of(code: str) -> list[list[float]]:
    """The list ``points()`` returns, read without running the code."""
    function = next(node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.FunctionDef))
    returned = next(node for node in ast.walk(function) if isinstance(node, ast.Return))
    return ast.literal_eval(returned.value)


def score_code(evaluator: ModuleType, code: str) -> float:
    try:
        return float(evaluator.score_points(points_of(code)))
    except (ValueError, TypeError, SyntaxError, StopIteration, ZeroDivisionError):
        return -math.inf


def record(submission: int, code: str, score: float) -> Program:
    return Program(
        id=submission, submission=submission, code=code, parent_id=None, inspiration_ids=(), island=0,
        generation=0, mutator="", metrics={}, artifacts={}, score=score, ok=math.isfinite(score), features={},
        created_at=0.0, eval_time_s=0.0,
    )  # fmt: skip


def simulate(name: str, overrides: list[str], evaluations: int, window: int, seed: int) -> float:
    """The share of the best-known value after ``evaluations`` children of the configured offline mix."""
    task_dir = HELDOUT / name
    evaluator = load_module(task_dir / "evaluator.py")
    data: dict = {"seed": seed}
    for assignment in overrides:
        apply_override(data, assignment)
    config = parse_config(data)
    mix = Mix.from_config(load_task(task_dir), config)
    initial = (task_dir / "initial_program.py").read_text()
    best = record(0, initial, score_code(evaluator, initial))
    outcomes: dict[int, Feedback] = {}
    for submission in range(1, evaluations + 1):
        if submission - window in outcomes:
            mix.tell(outcomes.pop(submission - window))
        request = ProposalRequest(submission, best, (), (), (), submission_rng(seed, submission))
        proposal = mix.ask(request)
        if proposal is None or proposal.code is None:
            outcomes[submission] = Feedback(submission, None, failure="no_edit")
            continue
        child = record(submission, proposal.code, score_code(evaluator, proposal.code))
        status = AddStatus.NOT_ADDED
        if child.is_valid and child.score > best.score:
            best, status = child, AddStatus.NEW_BEST
        outcomes[submission] = Feedback(submission, child, status)
    return share(evaluator, best.score)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluations", type=int, default=3000)
    parser.add_argument("--window", type=int, default=4, help="outcomes are told this many submissions late")
    parser.add_argument("--seeds", type=int, default=3, help="runs per problem (seeds 0, 1, ...)")
    parser.add_argument("--problems", default="")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="a config override")
    args = parser.parse_args()
    names = (
        args.problems.split(",") if args.problems else sorted(p.name for p in HELDOUT.iterdir() if p.is_dir())
    )
    shares = []
    for name in names:
        started = time.perf_counter()
        runs = [
            simulate(name, args.overrides, args.evaluations, args.window, seed) for seed in range(args.seeds)
        ]
        shares += runs
        print(
            f"{name:22} share after {args.evaluations}: " + " ".join(f"{s:.3f}" for s in runs),
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    print(f"mean {statistics.mean(shares):.3f}  {' '.join(args.overrides)}")


if __name__ == "__main__":
    main()
