"""Which (model, operator) arm makes each model-driven child: fixed weights, UCB1 or Thompson sampling.

The LLM mutator asks ``ArmSelector.ask(request)`` in ``Mutator.ask`` (synchronously, in submission
order) and reads the arm back in ``propose`` with ``arm_for(submission)``: the choice depends only on
the outcomes told so far and on ``request.rng``, so a seeded run chooses the same arms at any
concurrency. Every policy draws exactly one ``request.rng.random()`` per ask (``remake`` draws it
again), so the rest of the request's RNG stream does not depend on the policy's internals.

Reward of a child, in [0, 1], told in submission order (``tell``):

- 1.0: evaluated, valid, and scoring above its parent;
- 0.5 (``KEPT_REWARD``): not above its parent, but the archive kept it (a new cell, or the best of
  its cell): a new niche is worth something;
- 0.0: anything else: no edit, a rejected edit, a provider error, a duplicate, a failed evaluation,
  a worse child the archive dropped;
- none: a child cancelled by a stop or lost in a crash is not the arm's doing: its pull is taken back.

Cost-aware selection (``cost_aware: true``) divides each arm's index by its mean cost per call
relative to the mean over the arms whose cost is known, so an arm scores reward per dollar; an arm
whose cost is unknown or zero counts as average (zero is floored at ``MIN_RELATIVE_COST``).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evoforge.database.archive import AddStatus
from evoforge.llm.settings import LLMConfig, SelectionConfig
from evoforge.mutators.base import Feedback, ProposalRequest

KEPT_REWARD = 0.5
MIN_RELATIVE_COST = 0.01  # a free arm is at most 100 times as attractive per dollar as an average one
NEUTRAL_FAILURES = frozenset({"cancelled", "lost"})
REPORT_SAMPLES = 2000  # Monte Carlo draws estimating Thompson sampling's choice probabilities


@dataclass(frozen=True)
class Arm:
    """A model of the ensemble (its index in ``llm.models``) and an edit operator."""

    model: int
    operator: str


@dataclass
class _Stats:
    """What one arm has been asked and told: ``pulls`` counts every ask, those awaiting their outcome too."""

    model_name: str
    prior: float  # model weight x operator weight: the fixed-weights policy's weight
    pulls: int = 0
    told: int = 0
    reward: float = 0.0
    cost_usd: float = 0.0

    def mean(self) -> float | None:
        return self.reward / self.told if self.told else None

    def mean_cost(self) -> float | None:
        return self.cost_usd / self.told if self.told and self.cost_usd > 0 else None


@dataclass
class _Pending:
    """A submission asked and not yet told: its arm, its parent's score and what its calls cost."""

    arm: Arm
    parent_score: float | None
    cost_usd: float = 0.0


def reward(feedback: Feedback, parent_score: float | None) -> float | None:
    """The reward of one outcome (see the module docstring); None when it must not count."""
    if feedback.failure in NEUTRAL_FAILURES:
        return None
    child = feedback.program
    if child is None or not child.is_valid:
        return 0.0
    if parent_score is not None and child.score > parent_score:
        return 1.0
    return KEPT_REWARD if feedback.status > AddStatus.NOT_ADDED else 0.0


class ArmSelector:
    """Chooses an arm per submission and learns from the outcomes, in submission order."""

    def __init__(
        self,
        models: Sequence[tuple[str, float]],
        operators: Mapping[str, float],
        config: SelectionConfig,
    ) -> None:
        """``models``: (name, weight) per configured model; ``operators``: operator name -> weight."""
        if not models or not operators:
            raise ValueError("an arm selector needs at least one model and one operator")
        self.config = config
        top = max(operators.values())
        # Scaled so one operator weighs exactly 1.0: the weights policy then draws as the ensemble did.
        self._arms = [Arm(m, op) for m, op in itertools.product(range(len(models)), operators)]
        self._stats = {
            arm: _Stats(models[arm.model][0], models[arm.model][1] * operators[arm.operator] / top)
            for arm in self._arms
        }
        self._pending: dict[int, _Pending] = {}

    @classmethod
    def from_config(cls, llm: LLMConfig, operators: Mapping[str, float]) -> ArmSelector:
        """The arms of ``llm.models`` x ``operators`` under the policy of ``llm.selection``."""
        return cls([(model.name, model.weight) for model in llm.models], operators, llm.selection)

    @property
    def arms(self) -> list[Arm]:
        return list(self._arms)

    def ask(self, request: ProposalRequest) -> Arm:
        """Choose the arm of ``request``'s submission from what was told so far (one RNG draw)."""
        arm = self._pick(request.rng.random())
        self._start(request, arm)
        return arm

    def remake(self, request: ProposalRequest) -> Arm:
        """The arm of a submission made again on resume: as asked before, drawing what ``ask`` drew."""
        draw = request.rng.random()
        pending = self._pending.get(request.submission)
        if pending is not None:
            return pending.arm
        arm = self._pick(draw)
        self._start(request, arm)
        return arm

    def arm_for(self, submission: int) -> Arm:
        """The arm ``ask`` chose for ``submission`` (until its outcome is told)."""
        return self._pending[submission].arm

    def charge(self, submission: int, model: int, cost_usd: float) -> None:
        """Note a model call made for ``submission``: its cost, and the model that answered.

        When the chosen model was resting and another answered, the pull moves to the arm actually
        used, so its outcome teaches about that model. Unknown submissions (told already) are ignored.
        """
        pending = self._pending.get(submission)
        if pending is None:
            return
        pending.cost_usd += cost_usd
        if model != pending.arm.model:
            self._stats[pending.arm].pulls -= 1
            pending.arm = Arm(model, pending.arm.operator)
            self._stats[pending.arm].pulls += 1

    def tell(self, feedback: Feedback) -> None:
        """Reward the arm of a told submission; a submission already told (a resume) is ignored."""
        pending = self._pending.pop(feedback.submission, None)
        if pending is None:
            return
        stats = self._stats[pending.arm]
        gained = reward(feedback, pending.parent_score)
        if gained is None:
            stats.pulls -= 1
            return
        stats.told += 1
        stats.reward += gained
        stats.cost_usd += pending.cost_usd

    def _start(self, request: ProposalRequest, arm: Arm) -> None:
        score = request.parent.score
        self._pending[request.submission] = _Pending(arm, score if math.isfinite(score) else None)
        self._stats[arm].pulls += 1

    def _pick(self, draw: float) -> Arm:
        if self.config.policy == "weights":
            cumulative = list(itertools.accumulate(self._stats[arm].prior for arm in self._arms))
            # random.choices' own arithmetic, so one model and one operator draw as Ensemble.choose did.
            return self._arms[bisect.bisect(cumulative, draw * cumulative[-1], 0, len(self._arms) - 1)]
        local = random.Random(draw)
        indices = self._indices(local)
        best = max(indices.values())
        return local.choice([arm for arm, index in indices.items() if index == best])

    def _indices(self, rng: random.Random) -> dict[Arm, float]:
        """Each arm's index under a bandit policy (the highest is chosen), per dollar if cost-aware."""
        total = sum(stats.pulls for stats in self._stats.values())
        costs = self._relative_costs() if self.config.cost_aware else {}
        indices: dict[Arm, float] = {}
        for arm, stats in self._stats.items():  # in the order of self._arms
            if self.config.policy == "ucb1":
                if stats.pulls == 0:
                    indices[arm] = math.inf
                    continue
                mean = stats.mean()
                bonus = self.config.exploration * math.sqrt(math.log(max(total, 1)) / stats.pulls)
                index = (1.0 if mean is None else mean) + bonus  # optimistic until an outcome is told
            else:
                index = rng.betavariate(1.0 + stats.reward, 1.0 + stats.told - stats.reward)
            indices[arm] = index / costs.get(arm, 1.0)
        return indices

    def _relative_costs(self) -> dict[Arm, float]:
        """Each arm's mean cost per call over the mean of the arms' whose cost is known (them only)."""
        known = {arm: cost for arm, stats in self._stats.items() if (cost := stats.mean_cost())}
        if not known:
            return {}
        average = sum(known.values()) / len(known)
        return {arm: max(cost / average, MIN_RELATIVE_COST) for arm, cost in known.items()}

    def weights(self) -> dict[Arm, float]:
        """The probability that the next ask chooses each arm, as things stand (for status)."""
        if self.config.policy == "weights":
            total = sum(stats.prior for stats in self._stats.values())
            return {arm: self._stats[arm].prior / total for arm in self._arms}
        rng = random.Random(0)  # a fixed stream: the report is the same each time it is read
        samples = 1 if self.config.policy == "ucb1" else REPORT_SAMPLES
        chosen = dict.fromkeys(self._arms, 0.0)
        for _ in range(samples):
            indices = self._indices(rng)
            top = max(indices.values())
            best = [arm for arm, index in indices.items() if index == top]
            for arm in best:
                chosen[arm] += 1 / len(best) / samples
        return chosen

    def report(self) -> list[dict[str, Any]]:
        """One row per arm: its model and operator, current weight, pulls, rewards and cost."""
        weights = self.weights()
        return [
            {
                "model": self._stats[arm].model_name,
                "operator": arm.operator,
                "weight": round(weights[arm], 4),
                "outcomes": self._stats[arm].told,
                "reward": round(self._stats[arm].reward, 4),
                "mean_reward": _rounded(self._stats[arm].mean()),
                "cost_usd": round(self._stats[arm].cost_usd, 6),
            }
            for arm in self._arms
        ]

    def state(self) -> dict[str, Any]:
        """JSON state: the policy, every arm's counts and the submissions awaiting their outcome."""
        return {
            "policy": self.config.policy,
            "exploration": self.config.exploration,
            "cost_aware": self.config.cost_aware,
            "arms": [
                {
                    "model": arm.model,
                    "operator": arm.operator,
                    "model_name": stats.model_name,
                    "prior": stats.prior,
                    "pulls": stats.pulls,
                    "told": stats.told,
                    "reward": stats.reward,
                    "cost_usd": stats.cost_usd,
                }
                for arm, stats in self._stats.items()
            ],
            "pending": {
                str(submission): [p.arm.model, p.arm.operator, p.parent_score, p.cost_usd]
                for submission, p in sorted(self._pending.items())
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back ``state()``; arms no longer configured are dropped, new ones start afresh."""
        for row in state.get("arms", []):
            stats = self._stats.get(Arm(row["model"], row["operator"]))
            if stats is not None:
                stats.pulls, stats.told = row["pulls"], row["told"]
                stats.reward, stats.cost_usd = row["reward"], row["cost_usd"]
        for submission, (model, operator, parent_score, cost) in state.get("pending", {}).items():
            arm = Arm(model, operator)
            if arm in self._stats:
                self._pending[int(submission)] = _Pending(arm, parent_score, cost)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ArmSelector:
        """A selector rebuilt from a stored ``state()`` alone (``status`` and the dashboard read it)."""
        rows = state["arms"]
        models = {row["model"]: (row["model_name"], 1.0) for row in rows}
        operators = {row["operator"]: 1.0 for row in rows}
        config = SelectionConfig(
            policy=state["policy"], exploration=state["exploration"], cost_aware=state["cost_aware"]
        )
        selector = cls([models[i] for i in sorted(models)], operators, config)
        for row in rows:
            selector._stats[Arm(row["model"], row["operator"])].prior = row["prior"]
        selector.restore(state)
        return selector


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
