"""The mutator interface: given a parent and inspirations, propose one child program.

Contract: ``propose`` never raises for an ordinary failure (unparseable answer, rejected edit,
transient provider error): it returns a Proposal without code and with the failure's kind and
reason, so the controller records a failed generation. It raises only for what must stop the run
(a fatal ProviderError such as a bad API key). ``tell`` reports the fate of an evaluated child,
in submission order, so mutators that learn (CMA-ES, bandits) see a reproducible sequence.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass

from evoforge.records import LLMCall, Program


@dataclass(frozen=True)
class ProposalRequest:
    submission: int
    parent: Program
    top: tuple[Program, ...]
    diverse: tuple[Program, ...]
    rejections: tuple[str, ...]
    rng: random.Random


@dataclass(frozen=True)
class Proposal:
    """A child's code, or why there is none (``failure_kind`` as in FailedGeneration.kind)."""

    code: str | None
    failure_kind: str | None = None
    reason: str | None = None
    llm_call: LLMCall | None = None


class Mutator(ABC):
    name: str = "mutator"

    @abstractmethod
    async def propose(self, request: ProposalRequest) -> Proposal:
        """Propose one child of ``request.parent``."""

    def tell(self, program: Program, improved: bool) -> None:  # noqa: B027 - optional hook
        """Learn from an evaluated child (applied in submission order). Default: nothing."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release network clients and other resources."""
