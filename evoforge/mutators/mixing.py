"""A weighted mix of mutators behind the one interface, and the names a config may use for them.

Each submission's mutator is drawn from the submission's own RNG, so the choice is reproducible at
any concurrency; every mutator is told every outcome (each keeps what concerns it), and children are
stamped with the name of the mutator that made them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from evoforge.config import Config
from evoforge.errors import ConfigError
from evoforge.mutators.base import Feedback, Mutator, Proposal, ProposalRequest
from evoforge.task import Task

OFFLINE_WEIGHTS = {"tune": 0.8, "gp": 0.2}


def _llm(task: Task, config: Config) -> Mutator:
    from evoforge.mutators.llm import LLMMutator  # imports the model client (evoforge.llm)

    return LLMMutator(task, config)


def _tune(task: Task, config: Config) -> Mutator:
    from evoforge.mutators.tune import TuneMutator  # imports numpy and cmaes

    return TuneMutator(config.tune, config.seed)


def _refine(task: Task, config: Config) -> Mutator:
    from evoforge.mutators.refine import RefineMutator  # imports numpy

    return RefineMutator(config.refine, config.tune.max_literals)


def _gp(task: Task, config: Config) -> Mutator:
    from evoforge.mutators.gp import GPMutator

    return GPMutator(config.gp)


FACTORIES: dict[str, Callable[[Task, Config], Mutator]] = {
    "llm": _llm,
    "tune": _tune,
    "refine": _refine,
    "gp": _gp,
}


def mutator_weights(config: Config) -> dict[str, float]:
    """The weights a config asks for: ``mutators``, else the model ensemble, else tune and gp."""
    if config.mutators is not None:
        if "llm" in config.mutators and not config.llm.models:
            raise ConfigError(
                "mutators.llm: no language model configured: pass --model NAME --base-url URL "
                "or set llm.models in config.yaml"
            )
        return dict(config.mutators)
    return {"llm": 1.0} if config.llm.models else dict(OFFLINE_WEIGHTS)


class Mix(Mutator):
    """Chooses one mutator per submission by weight and forwards the ask/tell protocol to it."""

    name = "mix"

    def __init__(self, weighted: dict[str, tuple[Mutator, float]]) -> None:
        self._mutators = {name: mutator for name, (mutator, _) in weighted.items()}
        self._names = list(weighted)
        self._weights = [weight for _, weight in weighted.values()]
        self._chosen: dict[int, str] = {}  # submission -> name, until its outcome is told

    @classmethod
    def from_config(cls, task: Task, config: Config) -> Mix:
        weights = mutator_weights(config)
        return cls({name: (FACTORIES[name](task, config), weight) for name, weight in weights.items()})

    def _choose(self, request: ProposalRequest) -> str:
        # A single mutator draws nothing, so it sees the RNG exactly as it would unmixed.
        single = len(self._names) == 1
        name = self._names[0] if single else request.rng.choices(self._names, self._weights)[0]
        self._chosen[request.submission] = name
        return name

    def ask(self, request: ProposalRequest) -> Proposal | None:
        name = self._choose(request)
        proposal = self._mutators[name].ask(request)
        return dataclasses.replace(proposal, mutator=name) if proposal is not None else None

    def remake(self, request: ProposalRequest) -> bool:
        """The mutator the submission drew (the same draw as its ask) decides."""
        return self._mutators[self._choose(request)].remake(request)

    async def propose(self, request: ProposalRequest) -> Proposal:
        name = self._chosen[request.submission]
        return dataclasses.replace(await self._mutators[name].propose(request), mutator=name)

    def tell(self, feedback: Feedback) -> None:
        self._chosen.pop(feedback.submission, None)
        for mutator in self._mutators.values():
            mutator.tell(feedback)

    def state(self) -> dict[str, Any] | None:
        states = {name: m.state() for name, m in self._mutators.items()}
        kept = {name: state for name, state in states.items() if state is not None}
        return kept or None

    def restore(self, state: dict[str, Any]) -> None:
        for name, saved in state.items():
            if name in self._mutators:
                self._mutators[name].restore(saved)

    async def aclose(self) -> None:
        for mutator in self._mutators.values():
            await mutator.aclose()
