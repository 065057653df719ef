"""``tune``: CMA-ES over the numeric literals of one base program, one child per asked vector.

A *run* optimises the literals of one base program (the best of the parent and the island's top
programs offered when the run starts) in normalised coordinates: literal i is
``value_i + scale_i * z_i``, where literals of similar magnitude share one scale (``space.py``), the
search starts at ``z = 0`` with step ``sigma`` and stays in each group's box. A block with more
literals than ``coordinates_per_run`` has a random subset of them tuned per run (block-coordinate
descent); above ``separable_above`` coordinates the run uses ``SepCMA`` (a diagonal covariance, which
learns in far fewer generations when the dimension is high). The score is maximised; CMA-ES
minimises the loss ``-score``.

Generation g of a run has ``population`` designated slots. Slot k is sampled from the generation's
distribution with a generator seeded by ``(seed, run, g, k)``, never by timing, and the generation is
told to CMA-ES once every slot has its result, so the trajectory depends only on the results (told in
submission order). Outcomes arrive a window of submissions late, so asks made after every slot of
the generation was asked sample extra points of the same distribution; an extra told after its
generation closed fills a free slot of the next one (at most half of them, so fresh samples still
steer the step size), and any other extra goes to the archive only. A child whose code was already
scored (tune learns the score of every program told to it) is not evaluated again; its known loss
fills the slot. A child that failed to evaluate ranks below every valid one, and failures rank by their
distance from the base, so CMA-ES draws its step in towards valid programs; a slot whose child was lost (a
crash, a stop) is asked again with the same seed, so a resumed run continues the same trajectory.
The run ends after ``generations`` generations, when CMA-ES stops on its own criteria, when its step
fell below ``CONVERGED`` of its first, or when the best of its own children has not gained
``min_improvement`` for ``patience`` generations (stagnation; not the base's score, which a wide run
needs time to beat); the next ask starts a new run. After a stall, ``restarts:
bipop`` (the default) runs next whichever regime has asked fewer children: a small run near the best
program or a large one with the population doubled up to ``max_population`` (``ipop`` always doubles:
a wider, more global search once the local one is exhausted).
"""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import Any

import numpy as np

from evoforge.mutators.base import Feedback, Mutator, Proposal, ProposalRequest
from evoforge.mutators.cma_state import (
    IncompatibleState,
    Optimizer,
    cma_state,
    new_optimizer,
    pack,
    restore_cma,
    unpack,
)
from evoforge.mutators.literals import NumericLiteral, find_literals, substitute
from evoforge.mutators.settings import TuneConfig
from evoforge.mutators.space import literal_space
from evoforge.records import Program, code_digest

log = logging.getLogger(__name__)

STATE_VERSION = 3  # of the saved state below; raise it when its layout changes
FAILED_LOSS = 1e300  # a failed child ranks last (finite, so CMA-ES's own statistics stay defined)
# CMA-ES is told a failed child's loss as this times (1 + its distance from the run's base), so failures
# rank by how far they strayed from a valid program. Equal losses carry no direction; ranked, CMA-ES
# shrinks its step towards what evaluates (tests/test_mutators_tune.py; with the own-children stall,
# Heilbronn's sim 0.603 -> 0.686, bench/RESULTS.md, issue 14).
INFEASIBLE_LOSS = 1e200
# A run whose step fell below this share of its first has converged: on a max-min objective (a
# packing's closest pair) it then creeps on for thousands of children in the basin it found, where a
# restart finds better ones (bench/RESULTS.md, issue 14).
CONVERGED = 1e-2
MAX_SAMPLES_PER_ASK = 100  # bounds the draws one ask may spend on children the run already scored


def default_population(dimension: int) -> int:
    """CMA-ES's own default population for ``dimension`` coordinates."""
    return 4 + int(3 * np.log(dimension))


def best_offered(request: ProposalRequest) -> Program:
    """The best of the parent and the island's top programs: where a new run starts."""
    return max((request.parent, *request.top), key=lambda program: program.score)


def _program_from(data: dict[str, Any]) -> Program:
    return Program(**{**data, "inspiration_ids": tuple(data["inspiration_ids"])})


@dataclasses.dataclass(frozen=True)
class RunStart:
    """How a run starts: its population and initial step, from the restarts before it (BIPOP-CMA-ES).

    ``growth`` counts the large restarts so far: a large run has the default population doubled as
    often and the full step. A small run (``local``, a number in [0, 1) drawn for it) searches near
    the best program: its step is 10**(-2 local) of the full one and its population between the
    default and half the last large one, smaller the wider its step (Hansen's BIPOP regime).
    """

    growth: int
    local: float | None = None

    def population_and_sigma(self, default: int) -> tuple[int, float]:
        """The run's population and its initial step as a share of ``tune.sigma``."""
        if self.local is None:
            return default * 2**self.growth, 1.0
        largest = default * 2**self.growth
        population = int(default * max(1.0, largest / (2 * default)) ** (self.local**2))
        return max(default, population), 10 ** (-2 * self.local)


class _Run:
    """One CMA-ES run over the literals of one base program."""

    def __init__(
        self,
        index: int,
        base: Program,
        config: TuneConfig,
        seed: int,
        start: RunStart,
        known: dict[str, float],
    ) -> None:
        self.index = index
        self.base = base
        self.saved_base = dataclasses.asdict(base)  # the state holds it; converting it is not cheap
        self.start = start
        self.keep_ints = config.integers == "round"
        literals = find_literals(base.code, config.integers != "skip")[: config.max_literals]
        space = literal_space(literals, config.bound)
        chosen = list(range(len(literals)))
        if len(chosen) > config.coordinates_per_run:
            draw = random.Random(f"tune-subset:{seed}:{index}")
            chosen = sorted(draw.sample(chosen, config.coordinates_per_run))
        self.literals: list[NumericLiteral] = [literals[i] for i in chosen]
        self.values, self.scales = space.values[chosen], space.scales[chosen]
        self.seed = seed
        self.cma: Optimizer | None = None
        self.slots: dict[int, list[float]] = {}  # designated slot -> vector asked this generation
        self.losses: dict[int, float] = {}  # designated slot -> loss told
        self.lost: set[int] = set()  # designated slots to ask again
        self.extras = 0  # extra points asked this generation
        self.injected = 0  # extras of the previous generation that filled a slot of this one
        self.known = known  # the loss of every program's code told to tune (shared by its runs)
        known[code_digest(base.code)] = -base.score if base.is_valid else FAILED_LOSS
        # The best of the run's own children, not the base's score: a wide run starts far worse than the
        # best program it is centred on, and judged against it stalled after `patience` generations,
        # every time, having converged nowhere (all large BIPOP runs on Heilbronn's problem).
        self.best_loss = FAILED_LOSS
        self.improved_at = 0  # the generation that last improved best_loss
        self.stop_test: tuple[int, bool] | None = None  # CMA-ES's stopping tests in this generation
        self.min_improvement = config.min_improvement  # a share of the best's magnitude: less is a stall
        if self.literals:
            dimension = len(self.literals)
            population, sigma = start.population_and_sigma(config.population or default_population(dimension))
            population = min(population, max(config.max_population, config.population or 2))
            bounds = np.stack(
                [(space.lower[chosen] - self.values), (space.upper[chosen] - self.values)], axis=1
            )
            self.sigma0 = config.sigma * sigma
            self.cma = new_optimizer(
                dimension,
                self.sigma0,
                bounds / self.scales[:, None],
                population,
                separable=dimension > config.separable_above,
            )

    def code(self, z: list[float]) -> str:
        values = self.values + self.scales * np.array(z)
        return substitute(self.base.code, self.literals, values.tolist(), self.keep_ints)

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
            told = [self._ranked(np.array(self.slots[k]), self.losses[k]) for k in sorted(self.losses)]
            self.cma.tell(told)
            best = min(self.losses.values())
            if best < self.best_loss - self.min_improvement * abs(self.best_loss):
                self.best_loss, self.improved_at = best, self.cma.generation
            self.slots, self.losses, self.lost, self.extras, self.injected = {}, {}, set(), 0, 0

    @staticmethod
    def _ranked(z: np.ndarray, loss: float) -> tuple[np.ndarray, float]:
        """What CMA-ES is told of one child: a failure's loss grows with its distance from the base."""
        if loss < FAILED_LOSS:
            return z, loss
        return z, INFEASIBLE_LOSS * (1.0 + float(np.linalg.norm(z)))

    def stalled(self, patience: int) -> bool:
        """Converged or stagnating: CMA-ES's own stopping tests, or no better best for ``patience``.

        Every ask asks; the tests read only the distribution, which changes once per generation.
        """
        assert self.cma is not None
        if self.cma.generation - self.improved_at >= patience or self.cma._sigma < CONVERGED * self.sigma0:
            return True
        if self.stop_test is None or self.stop_test[0] != self.cma.generation:
            self.stop_test = (self.cma.generation, self.cma.should_stop())
        return self.stop_test[1]

    def finished(self, config: TuneConfig) -> bool:
        return self.cma is None or self.cma.generation >= config.generations or self.stalled(config.patience)

    def state(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "base": self.saved_base,
            "growth": self.start.growth,
            "local": self.start.local,
            "best_loss": self.best_loss,
            "improved_at": self.improved_at,
            "cma": cma_state(self.cma) if self.cma is not None else None,
            "slots": {str(k): pack(z) for k, z in self.slots.items()},
            "losses": {str(k): loss for k, loss in self.losses.items()},
            "lost": sorted(self.lost),
            "extras": self.extras,
            "injected": self.injected,
        }

    @classmethod
    def restore(cls, state: dict[str, Any], config: TuneConfig, seed: int, known: dict[str, float]) -> _Run:
        base = _program_from(state["base"])
        local = None if state["local"] is None else float(state["local"])
        run = cls(state["index"], base, config, seed, RunStart(int(state["growth"]), local), known)
        if (run.cma is None) != (state["cma"] is None):
            raise IncompatibleState("the saved run does not match its base program's literals")
        if run.cma is not None:
            run.cma = restore_cma(run.cma, state["cma"])
        dimension = (len(run.literals),)
        run.slots = {int(k): unpack(z, dimension).tolist() for k, z in state["slots"].items()}
        run.losses = {int(k): loss for k, loss in state["losses"].items()}
        run.lost = set(state["lost"])
        run.extras = state["extras"]
        run.injected = state["injected"]
        run.best_loss, run.improved_at = float(state["best_loss"]), int(state["improved_at"])
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
        self._growth = 0  # large restarts after a stall so far: a large run's population doubles as often
        self._spent = [0, 0]  # children asked by large runs and by small ones (BIPOP keeps them even)
        self._run: _Run | None = None
        self._pending: dict[int, _Pending] = {}  # submission -> what it asked
        # The loss of every program told (and of each run's base), by code digest: a sample whose code
        # was scored takes its score without an evaluation. Not saved: a resume tells every program again.
        self._known: dict[str, float] = {}

    def ask(self, request: ProposalRequest) -> Proposal:
        for submission in [s for s in self._pending if s >= request.submission]:
            self._lose(submission)  # asked before a crash under a number now reused
        for _ in range(MAX_SAMPLES_PER_ASK):
            run = self._current_run(request)
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
                self._spent[run.start.local is not None] += 1
                return Proposal(code=code, parent=run.base)
            if designated:
                run.record(slot, z, known)
        return Proposal(code=None, failure_kind="duplicate", reason="tune drew only children it had scored")

    def _current_run(self, request: ProposalRequest) -> _Run:
        run = self._run
        if run is None or run.finished(self._config):
            local = None
            if run is not None and run.cma is not None and run.stalled(self._config.patience):
                if self._config.restarts == "bipop" and self._spent[1] < self._spent[0]:
                    local = random.Random(f"tune-restart:{self._seed}:{self._runs + 1}").random()
                else:
                    self._growth += 1  # IPOP: a larger population searches more globally
            self._runs += 1
            start = RunStart(self._growth, local)
            self._run = _Run(self._runs, best_offered(request), self._config, self._seed, start, self._known)
        return self._run

    def tell(self, feedback: Feedback) -> None:
        if feedback.program is None and feedback.failure == "lost":
            self._lose(feedback.submission)
            return
        program = feedback.program
        if program is not None:
            loss = -program.score if program.is_valid else FAILED_LOSS
            self._known[code_digest(program.code)] = loss
        pending = self._pending.pop(feedback.submission, None)
        run = self._run
        if pending is None or run is None or run.cma is None:
            return
        if pending.run != run.index or pending.generation < run.cma.generation - 1:
            return  # sampled by an earlier run or long ago
        if program is None:
            loss = self._known.get(code_digest(run.code(pending.z)), FAILED_LOSS)
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
            "growth": self._growth,
            "spent": self._spent,
            "run": self._run.state() if self._run is not None else None,
            "pending": {
                str(s): {"run": p.run, "generation": p.generation, "slot": p.slot, "z": pack(p.z)}
                for s, p in self._pending.items()
            },
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
            restored = _Run.restore(run, self._config, self._seed, self._known) if run is not None else None
            pending = {
                int(s): _Pending(**{**p, "z": unpack(p["z"]).tolist()}) for s, p in state["pending"].items()
            }
            self._runs, self._run, self._pending = int(state["runs"]), restored, pending
            self._growth, self._spent = int(state["growth"]), [int(n) for n in state["spent"]]
        except (IncompatibleState, KeyError, TypeError, ValueError, AttributeError) as error:
            log.warning(
                "tune cannot continue its saved CMA-ES run (%s): it starts a new run on the next parent; "
                "nothing evaluated is lost",
                error,
            )
