"""``tune``: CMA-ES over the numeric literals of one base program, one child per asked vector.

A *run* optimises the literals of one base program (the parent offered when the run starts) in
normalised coordinates: literal i is ``value_i + scale_i * z_i`` with ``scale_i = |value_i|`` (1 for a
zero), the search starts at ``z = 0`` with step ``sigma`` and stays within ``|z_i| <= bound``. The
score is maximised; CMA-ES minimises the loss ``-score``.

Generation g of a run has ``population`` designated slots. Slot k is sampled from the generation's
distribution with a generator seeded by ``(seed, run, g, k)``, never by timing, and the generation is
told to CMA-ES once every slot has its result, so the trajectory depends only on the results (told in
submission order). Outcomes arrive a window of submissions late, so asks made after every slot of
the generation was asked sample extra points of the same distribution; an extra told after its
generation closed fills a free slot of the next one (at most half of them, so fresh samples still
steer the step size), and any other extra goes to the archive only. A child whose code the run has
already scored is not evaluated again; its known loss fills the slot. A child that failed to evaluate
scores a large loss; a slot whose child was lost (a crash, a stop) is asked again with the same seed,
so a resumed run continues the same trajectory. The run ends after ``generations`` generations or
when CMA-ES stops on its own criteria, and the next ask starts a new run on the parent it offers.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import Any

import numpy as np
from cmaes import CMA

from evoforge.config import TuneConfig
from evoforge.mutators.base import Feedback, Mutator, Proposal, ProposalRequest
from evoforge.mutators.cma_state import IncompatibleState, cma_state, restore_cma
from evoforge.mutators.literals import NumericLiteral, find_literals, substitute
from evoforge.records import Program, code_digest

log = logging.getLogger(__name__)

STATE_VERSION = 1  # of the saved state below; raise it when its layout changes
FAILED_LOSS = 1e300  # a failed child ranks last (finite, so CMA-ES's own statistics stay defined)
MAX_SAMPLES_PER_ASK = 100  # bounds the draws one ask may spend on children the run already scored


def _program_from(data: dict[str, Any]) -> Program:
    return Program(**{**data, "inspiration_ids": tuple(data["inspiration_ids"])})


class _Run:
    """One CMA-ES run over the literals of one base program."""

    def __init__(self, index: int, base: Program, config: TuneConfig, seed: int) -> None:
        self.index = index
        self.base = base
        self.keep_ints = config.integers == "round"
        self.literals: list[NumericLiteral] = find_literals(base.code, config.integers != "skip")[
            : config.max_literals
        ]
        self.seed = seed
        self.cma: CMA | None = None
        self.slots: dict[int, list[float]] = {}  # designated slot -> vector asked this generation
        self.losses: dict[int, float] = {}  # designated slot -> loss told
        self.lost: set[int] = set()  # designated slots to ask again
        self.extras = 0  # extra points asked this generation
        self.injected = 0  # extras of the previous generation that filled a slot of this one
        self.known: dict[str, float] = {code_digest(base.code): -base.score}
        if self.literals:
            values = np.array([literal.value for literal in self.literals])
            self.scales = np.where(values == 0, 1.0, np.abs(values))
            bounds = np.tile([-config.bound, config.bound], (len(self.literals), 1))
            self.cma = CMA(
                mean=np.zeros(len(self.literals)),
                sigma=config.sigma,
                bounds=bounds,
                population_size=config.population,
                seed=0,
            )

    def code(self, z: list[float]) -> str:
        values = [lit.value + s * zi for lit, s, zi in zip(self.literals, self.scales, z, strict=True)]
        return substitute(self.base.code, self.literals, values, self.keep_ints)

    def sample(self, slot: int) -> list[float]:
        assert self.cma is not None
        seed = random.Random(f"tune:{self.seed}:{self.index}:{self.cma.generation}:{slot}").randrange(2**32)
        self.cma.reseed_rng(seed)
        return [float(v) for v in self.cma.ask()]

    def next_slot(self) -> int:
        """A lost slot, else the lowest designated slot not asked yet, else a new extra slot."""
        assert self.cma is not None
        if self.lost:
            slot = min(self.lost)
            self.lost.discard(slot)
            return slot
        free = [k for k in range(self.cma.population_size) if k not in self.slots]
        if free:
            return free[0]
        self.extras += 1
        return self.cma.population_size + self.extras - 1

    def inject(self, z: list[float], loss: float) -> None:
        """An extra of the previous generation takes the highest free slot, if there is room."""
        assert self.cma is not None
        free = [k for k in range(self.cma.population_size) if k not in self.slots]
        if free and self.injected < self.cma.population_size // 2:
            self.injected += 1
            self.record(free[-1], z, loss)

    def record(self, slot: int, z: list[float], loss: float) -> None:
        """The loss of a designated slot; the generation is told to CMA-ES once all are in."""
        assert self.cma is not None
        self.slots[slot] = z
        self.losses[slot] = loss
        if len(self.losses) == self.cma.population_size:
            solutions = [(np.array(self.slots[k]), self.losses[k]) for k in sorted(self.losses)]
            self.cma.tell(solutions)
            self.slots, self.losses, self.lost, self.extras, self.injected = {}, {}, set(), 0, 0

    def finished(self, generations: int) -> bool:
        return self.cma is None or self.cma.generation >= generations or self.cma.should_stop()

    def state(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "base": dataclasses.asdict(self.base),
            "cma": cma_state(self.cma) if self.cma is not None else None,
            "slots": {str(k): z for k, z in self.slots.items()},
            "losses": {str(k): loss for k, loss in self.losses.items()},
            "lost": sorted(self.lost),
            "extras": self.extras,
            "injected": self.injected,
            "known": self.known,
        }

    @classmethod
    def restore(cls, state: dict[str, Any], config: TuneConfig, seed: int) -> _Run:
        run = cls(state["index"], _program_from(state["base"]), config, seed)
        if (run.cma is None) != (state["cma"] is None):
            raise IncompatibleState("the saved run does not match its base program's literals")
        if run.cma is not None:
            run.cma = restore_cma(run.cma, state["cma"])
        run.slots = {int(k): z for k, z in state["slots"].items()}
        run.losses = {int(k): loss for k, loss in state["losses"].items()}
        run.lost = set(state["lost"])
        run.extras = state["extras"]
        run.injected = state["injected"]
        run.known = dict(state["known"])
        return run


@dataclasses.dataclass
class _Pending:
    run: int
    generation: int
    slot: int
    z: list[float]


class TuneMutator(Mutator):
    """Hyperparameter sweeps without a model call: CMA-ES over the numeric literals of a program."""

    name = "tune"

    def __init__(self, config: TuneConfig, seed: int) -> None:
        self._config = config
        self._seed = seed
        self._runs = 0
        self._run: _Run | None = None
        self._pending: dict[int, _Pending] = {}  # submission -> what it asked

    def ask(self, request: ProposalRequest) -> Proposal:
        for submission in [s for s in self._pending if s >= request.submission]:
            self._lose(submission)  # asked before a crash under a number now reused
        for _ in range(MAX_SAMPLES_PER_ASK):
            run = self._current_run(request.parent)
            if run.cma is None:
                self._run = None
                return Proposal(code=None, failure_kind="no_edit", reason="no numeric literal to tune")
            slot = run.next_slot()
            designated = slot < run.cma.population_size
            z = run.sample(slot)
            code = run.code(z)
            known = run.known.get(code_digest(code))
            if known is None:
                if designated:
                    run.slots[slot] = z
                self._pending[request.submission] = _Pending(run.index, run.cma.generation, slot, z)
                return Proposal(code=code, parent=run.base)
            if designated:
                run.record(slot, z, known)
        return Proposal(code=None, failure_kind="duplicate", reason="tune drew only children it had scored")

    def _current_run(self, parent: Program) -> _Run:
        if self._run is None or self._run.finished(self._config.generations):
            self._runs += 1
            self._run = _Run(self._runs, parent, self._config, self._seed)
        return self._run

    def tell(self, feedback: Feedback) -> None:
        if feedback.program is None and feedback.failure == "lost":
            self._lose(feedback.submission)
            return
        pending = self._pending.pop(feedback.submission, None)
        run = self._run
        if pending is None or run is None or run.cma is None:
            return
        if pending.run != run.index or pending.generation < run.cma.generation - 1:
            return  # sampled by an earlier run or long ago
        code = run.code(pending.z)
        program = feedback.program
        if program is not None:
            loss = -program.score if program.is_valid else FAILED_LOSS
            run.known[code_digest(code)] = loss
        else:
            loss = run.known.get(code_digest(code), FAILED_LOSS)
        if pending.generation < run.cma.generation:
            run.inject(pending.z, loss)
        elif pending.slot < run.cma.population_size:
            run.record(pending.slot, pending.z, loss)

    def _lose(self, submission: int) -> None:
        """A child that will never be told: its designated slot is asked again."""
        pending = self._pending.pop(submission, None)
        run = self._run
        if pending is None or run is None or run.cma is None:
            return
        designated = pending.slot < run.cma.population_size
        if designated and (pending.run, pending.generation) == (run.index, run.cma.generation):
            run.lost.add(pending.slot)

    def state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "runs": self._runs,
            "run": self._run.state() if self._run is not None else None,
            "pending": {str(s): dataclasses.asdict(p) for s, p in self._pending.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue the saved CMA-ES run; a state this version cannot continue starts a new one.

        Nothing evaluated depends on this state (it is in the store), so an old or unknown format
        costs only the current CMA-ES run's progress: tune warns and starts again on the next parent,
        as it does anyway after ``generations`` generations. Refusing to resume would gain nothing.
        """
        try:
            version = state.get("version")
            if version != STATE_VERSION:
                found = "in the earlier pickled format" if version is None else f"of version {version!r}"
                raise IncompatibleState(
                    f"the saved state is {found}; this evoforge reads version {STATE_VERSION}"
                )
            run = state["run"]
            restored = _Run.restore(run, self._config, self._seed) if run is not None else None
            pending = {int(s): _Pending(**p) for s, p in state["pending"].items()}
            self._runs, self._run, self._pending = int(state["runs"]), restored, pending
        except (IncompatibleState, KeyError, TypeError, ValueError, AttributeError) as error:
            log.warning(
                "tune cannot continue its saved CMA-ES run (%s): it starts a new run on the next parent; "
                "nothing evaluated is lost",
                error,
            )
