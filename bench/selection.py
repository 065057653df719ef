"""Controller CPU spent choosing arms and keeping their state, per generation and per policy.

The arm selector runs in the controller's thread on every submission (``ask``), outcome (``tell``) and
state save (``state()`` serialised to JSON, as the controller does before storing it), so its cost adds
to the controller's CPU per iteration. This prints, per policy, microseconds of process CPU for one
ask + tell + state save with ``--models`` x ``--operators`` arms and ``--inflight`` submissions
awaiting their outcome, and the size of the saved state; then the time of one ``report()`` (what
``evoforge status`` computes, 2000 Thompson draws).

    python bench/selection.py [--models 3] [--operators 3] [--inflight 8] [--rounds 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import time

from evoforge.database.archive import AddStatus
from evoforge.llm.selection import ArmSelector
from evoforge.llm.settings import SelectionConfig
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.records import Program

PARENT = Program(
    id=0, submission=0, code="", parent_id=None, inspiration_ids=(), island=0, generation=0,
    mutator="initial", metrics={}, artifacts={}, score=1.0, ok=True, features={}, created_at=0.0,
    eval_time_s=0.0,
)  # fmt: skip


def measure(policy: str, args: argparse.Namespace) -> tuple[float, int, float]:
    """(µs of CPU per ask + tell + state save, bytes of saved state, ms per report)."""
    models = [(f"model-{i}", 1.0 + i) for i in range(args.models)]
    operators = {f"op-{i}": 1.0 for i in range(args.operators)}
    selector = ArmSelector(models, operators, SelectionConfig(policy=policy, cost_aware=True))
    outcome = random.Random(0)
    for submission in range(1, args.inflight + 1):  # the window of submissions in flight
        selector.ask(ProposalRequest(submission, PARENT, (), (), (), random.Random(submission)))
    started = time.process_time()
    for submission in range(args.inflight + 1, args.inflight + args.rounds + 1):
        arm = selector.ask(ProposalRequest(submission, PARENT, (), (), (), random.Random(submission)))
        selector.charge(submission, arm.model, 0.001 * (arm.model + 1))
        told = submission - args.inflight
        child = PARENT if outcome.random() < 0.7 else None
        selector.tell(Feedback(told, child, AddStatus.NOT_ADDED, None if child else "no_edit"))
        text = json.dumps(selector.state(), sort_keys=True)
    per_round = (time.process_time() - started) / args.rounds * 1e6
    started = time.process_time()
    selector.report()
    return per_round, len(text), (time.process_time() - started) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3)
    parser.add_argument("--operators", type=int, default=3)
    parser.add_argument("--inflight", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=20000)
    args = parser.parse_args()
    arms = args.models * args.operators
    print(f"{arms} arms, {args.inflight} in flight, {args.rounds} rounds (cost-aware)")
    print(f"{'policy':<10} {'µs CPU/generation':>18} {'state bytes':>12} {'report ms':>10}")
    for policy in ("weights", "ucb1", "thompson"):
        per_round, size, report_ms = measure(policy, args)
        print(f"{policy:<10} {per_round:>18.1f} {size:>12} {report_ms:>10.1f}")


if __name__ == "__main__":
    main()
