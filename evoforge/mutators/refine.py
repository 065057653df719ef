"""``refine``: a (1+1)-ES with the one-fifth success rule on the last digits of the best program.

CMA-ES (``tune``) learns a whole distribution per generation and needs many generations to settle
tens of coordinates; near an optimum it is cheaper to nudge the best program itself. Each child moves
a few of the best program's float literals (on average ``coordinates``, at least one) by a Gaussian
step of ``sigma`` times their group's scale (``space.py``), inside the group's box. The step follows
Rechenberg's one-fifth rule: a child better than the program it came from multiplies it by 1.5, any
other divides it by 1.5 ** (1/4), so it settles where one child in five succeeds: wide while
progress is easy, down to the last digits near an optimum. Moving few coordinates at a time suits
max-min objectives (a packing's closest pair), where only the literals of the binding constraint matter.

The best program is the best told to it or offered with a request (the parent and the island's top
programs). Its draws come from the request's seeded RNG, so a seeded run asks the same children at
any concurrency; the step size and the children awaiting their outcome are its saved state.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from evoforge.mutators.base import Feedback, Mutator, Proposal, ProposalRequest
from evoforge.mutators.literals import find_literals, substitute
from evoforge.mutators.settings import RefineConfig
from evoforge.mutators.space import literal_space
from evoforge.records import Program

SUCCESS_FACTOR = 1.5  # a success widens the step this much; a failure narrows it by its fourth root
SMALLEST_STEP = 1e-13  # relative to a literal's scale: below this a float's last digit no longer moves


def _program_from(data: dict[str, Any]) -> Program:
    return Program(**{**data, "inspiration_ids": tuple(data["inspiration_ids"])})


class RefineMutator(Mutator):
    """Small steps on a few float literals of the best program, the step size adapted by success."""

    name = "refine"

    def __init__(self, config: RefineConfig, max_literals: int) -> None:
        self._config = config
        self._max_literals = max_literals
        self._sigma = config.sigma
        self._best: Program | None = None
        self._pending: dict[int, float] = {}  # submission -> score of the program its child came from

    def ask(self, request: ProposalRequest) -> Proposal:
        offered = max((request.parent, *request.top), key=lambda program: program.score)
        if self._best is None or offered.score > self._best.score:
            self._best = offered
        best = self._best
        literals = find_literals(best.code, include_ints=False)[: self._max_literals]
        if not literals:
            return Proposal(code=None, failure_kind="no_edit", reason="no float literal to refine")
        space = literal_space(literals, bound=1.0)
        rng = request.rng
        share = min(1.0, self._config.coordinates / len(literals))
        moved = [i for i in range(len(literals)) if rng.random() < share] or [rng.randrange(len(literals))]
        values = space.values.tolist()
        for i in moved:
            step = rng.gauss(0.0, self._sigma * space.scales[i])
            values[i] = min(max(values[i] + step, space.lower[i]), space.upper[i])
        self._pending[request.submission] = best.score
        return Proposal(code=substitute(best.code, literals, values), parent=best)

    def tell(self, feedback: Feedback) -> None:
        program = feedback.program
        if (
            program is not None
            and program.is_valid
            and (self._best is None or program.score > self._best.score)
        ):
            self._best = program
        came_from = self._pending.pop(feedback.submission, None)
        if came_from is None or feedback.failure == "lost":
            return
        if program is not None and program.is_valid and program.score > came_from:
            self._sigma = min(1.0, self._sigma * SUCCESS_FACTOR)
        else:
            self._sigma *= SUCCESS_FACTOR**-0.25
            if self._sigma < SMALLEST_STEP:
                self._sigma = self._config.sigma  # nothing left to refine here: start wide again

    def state(self) -> dict[str, Any]:
        return {
            "sigma": self._sigma,
            "best": dataclasses.asdict(self._best) if self._best is not None else None,
            "pending": {str(s): score for s, score in self._pending.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._sigma = float(state["sigma"])
        self._best = _program_from(state["best"]) if state["best"] is not None else None
        self._pending = {int(s): float(score) for s, score in state["pending"].items()}
