"""The mutator interface: ask for a child of a parent, tell the outcome of that child.

Contract, in the order the controller calls it:

- ``ask(request)`` is called synchronously, once per submission, in submission order, right after the
  controller told the outcomes of every submission older than its window. A mutator that learns
  (CMA-ES, bandits) decides its child here from its state and ``request.rng``, so a seeded run asks the
  same things at any concurrency. It returns the Proposal, or None when the child needs slow work
  (a model call): the controller then awaits ``propose(request)`` inside an LLM slot.
- ``propose`` never raises for an ordinary failure (unparseable answer, rejected edit, transient
  provider error): it returns a Proposal without code and with the failure's kind and reason, so the
  controller records a failed generation. It raises only for what must stop the run (a fatal
  ProviderError such as a bad API key).
- ``tell(feedback)`` reports the fate of every submission, in submission order: the evaluated program
  and what adding it to the archive did, or no program (a failed generation, or one lost in a crash).
- ``state()`` / ``restore(state)`` carry what a mutator learned across a resume. The controller saves
  ``state()`` whenever it changes, before any child just asked can be stored. On resume it restores it
  and tells again every outcome the live run had told (a mutator ignores what it already knew), so
  ``tell`` must be idempotent for a submission it no longer waits for.
- ``remake(request)``: on resume, a submission the live run made but never finished (cut off by a
  crash, or cancelled by a stop) is offered again with the request it was made with, at the same point
  of the ask/tell order. True: the controller makes it again, awaiting ``propose(request)``, so a
  model-driven child gets the same prompt and seed and the run continues as if never stopped. False
  (the default, for mutators that decide in ``ask``): it is told as lost (``program is None``,
  ``failure == "lost"``) and the mutator may ask its child again under a later submission (tune does).
"""

from __future__ import annotations

import random
from abc import ABC
from dataclasses import dataclass
from typing import Any

from evoforge.database.archive import AddStatus
from evoforge.records import LLMCall, Program

MUTATOR_STATE_KEY = "mutator"  # the store's state key of what ``state()`` returned (controller, status)


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
    """A child's code, or why there is none (``failure_kind`` as in FailedGeneration.kind).

    ``mutator`` names the mutator that made it (a mix sets it); ``parent`` is the program the child was
    derived from when it is not the request's parent (``tune`` keeps optimising one base program).
    ``side_calls`` are other model calls made for it (a meta-prompt rewrite), stored before ``llm_call``.
    """

    code: str | None
    failure_kind: str | None = None
    reason: str | None = None
    llm_call: LLMCall | None = None
    mutator: str | None = None
    parent: Program | None = None
    side_calls: tuple[LLMCall, ...] = ()


@dataclass(frozen=True)
class Feedback:
    """The outcome of one submission: its program and AddStatus, or the failure that left none."""

    submission: int
    program: Program | None
    status: AddStatus = AddStatus.NOT_ADDED
    failure: str | None = None


class Mutator(ABC):  # noqa: B024 - every hook has a default; a mutator overrides ask or propose
    name: str = "mutator"

    def ask(self, request: ProposalRequest) -> Proposal | None:
        """Decide a child now (in submission order), or None to have ``propose`` do the slow work."""
        return None

    async def propose(self, request: ProposalRequest) -> Proposal:
        """Propose one child of ``request.parent`` when ``ask`` returned None."""
        raise NotImplementedError(f"mutator {self.name!r} implements neither ask nor propose")

    def remake(self, request: ProposalRequest) -> bool:
        """Whether to make an unfinished submission again on resume (``propose``) or have it told lost."""
        return False

    def tell(self, feedback: Feedback) -> None:  # noqa: B027 - optional hook
        """Learn from the outcome of a submission (in submission order). Default: nothing."""

    def state(self) -> Any:
        """JSON-serialisable learned state to save for a resume; None when there is none."""
        return None

    def restore(self, state: Any) -> None:  # noqa: B027 - optional hook
        """Take back what ``state()`` returned before the run stopped."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release network clients and other resources."""
