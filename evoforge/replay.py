"""Outcomes applied in submission order, in a live run and on resume: one path for both.

A live run makes submission ``s`` right after applying the outcomes of every submission up to
``s - window`` (archive, mutator, notes on rejected edits) and draws its request from that state
(``SubmissionOrder.request``). A resume rebuilds the same state by walking the stored outcomes
through the same calls at the same points (``replay``): what the controller does next, and the
request of every submission the live run left unfinished, is then what the live run would have done.
Only the mutator's own state is not rebuilt here: it is saved as it changes and restored first.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass

from evoforge.database.archive import Archive
from evoforge.database.dedup import CodeIndex
from evoforge.database.novelty import TOO_SIMILAR, NoveltyPolicy
from evoforge.mutators.base import Feedback, Mutator, ProposalRequest
from evoforge.records import FailedGeneration, Program
from evoforge.storage.base import ProgramStore

REJECTIONS_KEPT = 3  # notes on rejected edits shown per parent
NOTED_FAILURES = ("edit_rejected", TOO_SIMILAR)  # kinds of failure shown to the model as notes


@dataclass(frozen=True)
class Outcome:
    """What one submission produced: a stored program, a recorded failure, or neither (lost)."""

    submission: int
    program: Program | None = None
    failure: FailedGeneration | None = None


def submission_rng(seed: int, submission: int) -> random.Random:
    """The RNG of one generation attempt: a pure function of the run seed and the submission."""
    return random.Random(f"evoforge:{seed}:{submission}")


class SubmissionOrder:
    """Finished outcomes wait here until their turn; each is applied in submission order.

    Every submission up to the one applied last has finished: ``request`` never slides the window
    past a running submission because the controller submits only while ``first_unfinished`` allows.
    """

    def __init__(
        self,
        archive: Archive,
        mutator: Mutator,
        *,
        window: int,
        seed: int,
        novelty: NoveltyPolicy | None = None,
    ) -> None:
        self.archive = archive
        self.mutator = mutator
        self.window = window
        self._seed = seed
        self.novelty = novelty  # keeps each request's island snapshot, follows rejections (novelty.py)
        self.ready: dict[int, Outcome] = {}
        self.next_to_apply = 1  # submission 0, the initial program, is in the archive from the start
        self._rejections: dict[int, deque[str]] = defaultdict(lambda: deque(maxlen=REJECTIONS_KEPT))

    def finish(self, outcome: Outcome) -> None:
        self.ready[outcome.submission] = outcome

    def first_unfinished(self) -> int:
        """The oldest submission still running: the window may not slide past it."""
        frontier = self.next_to_apply
        while frontier in self.ready:
            frontier += 1
        return frontier

    def apply_through(self, last: int) -> None:
        """Apply finished outcomes to the archive and tell the mutator, up to ``last`` inclusive."""
        while self.next_to_apply <= last:
            outcome = self.ready.pop(self.next_to_apply)
            if outcome.program is not None:
                status = self.archive.add(outcome.program)
                self.mutator.tell(Feedback(outcome.submission, outcome.program, status))
            else:
                failure = outcome.failure
                self.mutator.tell(
                    Feedback(outcome.submission, None, failure=failure.kind if failure else "lost")
                )
                if failure is not None and failure.kind in NOTED_FAILURES and failure.parent_id is not None:
                    self._rejections[failure.parent_id].append(failure.reason)
            if self.novelty is not None:
                failure_kind = outcome.failure.kind if outcome.failure is not None else None
                island = outcome.submission % len(self.archive.islands)
                self.novelty.applied(outcome.submission, island, outcome.program, failure_kind)
            self.next_to_apply += 1

    def request(self, submission: int) -> tuple[ProposalRequest, int]:
        """The request of ``submission`` and its island, drawn once every older outcome due is applied."""
        self.apply_through(submission - self.window)
        rng = submission_rng(self._seed, submission)
        island = submission % len(self.archive.islands)
        selection = self.archive.sample(island, rng)
        if self.novelty is not None:
            self.novelty.requested(submission, island, self.archive.islands[island].elites.members)
        request = ProposalRequest(
            submission=submission,
            parent=selection.parent,
            top=tuple(selection.top),
            diverse=tuple(selection.diverse),
            rejections=tuple(self._rejections.get(selection.parent.id, ())),
            rng=rng,
        )
        return request, island


def stored_outcomes(store: ProgramStore) -> Iterator[Outcome]:
    """Each recorded submission's outcome in submission order, streamed.

    A cancelled attempt is no outcome (the work was not done); when a resume made it again, its
    program or failure is.
    """
    programs = ((p.submission, 0, p) for p in store.programs_by_submission())
    failures = (
        (f.submission, 1, f) for f in store.failed_generations_by_submission() if f.kind != "cancelled"
    )
    merged = heapq.merge(programs, failures, key=lambda entry: entry[:2])
    for submission, records in itertools.groupby(merged, key=lambda entry: entry[0]):
        record = next(records)[2]  # a program before a failure, which the controller never both makes
        if isinstance(record, Program):
            yield Outcome(submission, program=record)
        else:
            yield Outcome(submission, failure=record)


def replay(
    store: ProgramStore, order: SubmissionOrder, seen: CodeIndex, next_submission: int
) -> list[tuple[ProposalRequest, int]]:
    """Rebuild the live run's state from ``store``; return the unfinished submissions to make again.

    Submission ``s`` is walked as the live run made it: the outcomes up to ``s - window`` are applied
    first. A submission with no outcome older than the window was lost by an earlier session that
    already moved on (it is told as lost); a younger one is one the live run was still working on
    when it stopped: its request is drawn again, from the same archive state, and the mutator says
    whether to make it again (``Mutator.remake``) or to have it told as lost.
    """
    outcomes = stored_outcomes(store)
    initial = next(outcomes)
    assert initial.submission == 0 and initial.program is not None, "a run starts with its initial program"
    order.archive.add(initial.program)
    seen.note(initial.program.code, 0, initial.program.id)
    remakes = []
    upcoming = next(outcomes, None)
    for submission in range(1, next_submission):
        order.apply_through(submission - order.window)
        if upcoming is not None and upcoming.submission == submission:
            if upcoming.program is not None:
                seen.note(upcoming.program.code, submission, upcoming.program.id)
            order.finish(upcoming)
            upcoming = next(outcomes, None)
        elif submission < next_submission - order.window:
            order.finish(Outcome(submission))
        else:
            request, island = order.request(submission)
            if order.mutator.remake(request):
                remakes.append((request, island))
            else:
                order.finish(Outcome(submission))
    return remakes
