"""Novelty: a child too similar to the elites of its island is rejected before it is evaluated.

Similarity is the highest cosine similarity between the embedding of the child's EVOLVE blocks
(database/embeddings.py) and those of the island's elites **when the child was requested**: the
controller applies outcomes in submission order, so that snapshot, unlike the archive at the time
the child comes back, is the same at any concurrency and on resume, and a seeded run repeats.

A rejected child is recorded as a failed generation of kind ``too_similar`` (its reason names the
nearest elite and the similarity) and is no iteration: the controller keeps submitting until the
run has evaluated its ``iterations`` programs, each new submission asking the mutator again, and
the rejection is shown to the model as a note on the parent (like a rejected edit). So that a
converged island cannot stall a run, after ``max_resamples`` rejections in a row on one island
(counted in submission order) its next child is evaluated without the check. Novelty is also a
feature dimension (features.py, ``novelty``: one minus the similarity).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from evoforge.database.embeddings import Embedder, EmbeddingFailed, evolvable_text, make_embedder
from evoforge.database.settings import DatabaseConfig, NoveltyConfig
from evoforge.records import Program

log = logging.getLogger(__name__)

TOO_SIMILAR = "too_similar"  # the FailedGeneration kind of a rejected child
CACHE_PER_MEMBER = 4  # embeddings kept per elite in the snapshot being checked, before a prune


@dataclass(frozen=True)
class Snapshot:
    """What one submission's child is compared with, and whether it may be rejected."""

    members: tuple[Program, ...]
    gated: bool


@dataclass(frozen=True)
class Verdict:
    """How close a child came to its island: the highest similarity (0 with no elites) and to whom."""

    similarity: float
    nearest: int | None

    @property
    def novelty(self) -> float:
        """The ``novelty`` feature: one minus the similarity, in [0, 1]."""
        return min(1.0, max(0.0, 1.0 - self.similarity))


class NoveltyPolicy:
    """Which children are checked, against which elites: decided in submission order (replay.py).

    ``requested`` keeps the island's elites for a submission when its request is drawn, ``take``
    hands them to the attempt, ``applied`` follows each island's run of rejections.
    """

    def __init__(self, max_resamples: int, gate: bool, islands: int) -> None:
        self._max_resamples = max_resamples
        self._gate = gate
        self._streaks = [0] * islands
        self._pending: dict[int, Snapshot] = {}

    def requested(self, submission: int, island: int, members: tuple[Program, ...]) -> None:
        gated = self._gate and self._streaks[island] < self._max_resamples
        self._pending[submission] = Snapshot(members, gated)

    def take(self, submission: int) -> Snapshot | None:
        return self._pending.pop(submission, None)

    def applied(
        self, submission: int, island: int, program: Program | None, failure_kind: str | None
    ) -> None:
        self._pending.pop(submission, None)  # a submission told as lost never took its snapshot
        if failure_kind == TOO_SIMILAR:
            self._streaks[island] += 1
        elif program is not None:
            self._streaks[island] = 0


class Novelty:
    """Measures children against the snapshots ``policy`` kept, caching the embeddings of elites by id."""

    def __init__(
        self, config: NoveltyConfig, policy: NoveltyPolicy, embedder: Embedder | None = None
    ) -> None:
        self.policy = policy
        self._threshold = config.threshold
        self._embedder = embedder or make_embedder(config)
        self._cache: dict[int, np.ndarray] = {}

    @classmethod
    def from_config(cls, database: DatabaseConfig) -> Novelty | None:
        """The novelty of a run: None when neither the rejection nor the ``novelty`` feature needs it."""
        config = database.novelty
        if not (config.enabled or "novelty" in database.feature_dimensions):
            return None
        return cls(config, NoveltyPolicy(config.max_resamples, config.enabled, database.num_islands))

    async def judge(self, submission: int, code: str) -> tuple[Verdict | None, str | None]:
        """The verdict on the child of ``submission`` (None when not measured) and, if it is
        rejected, the reason to record."""
        snapshot = self.policy.take(submission)
        if snapshot is None:
            return None, None
        verdict = await self.verdict(code, snapshot.members)
        if verdict is not None and snapshot.gated and verdict.similarity >= self._threshold:
            return verdict, self.reason(verdict)
        return verdict, None

    async def verdict(self, code: str, members: tuple[Program, ...]) -> Verdict | None:
        """The child's verdict; None when the embeddings could not be had (the child is then let through)."""
        known = {
            program.id: vector for program in members if (vector := self._cache.get(program.id)) is not None
        }
        missing = [program for program in members if program.id not in known]
        try:
            texts = [evolvable_text(text) for text in (code, *(program.code for program in missing))]
            vectors = await self._embedder.embed(texts)
        except EmbeddingFailed as error:
            log.warning("novelty not measured (the child is evaluated): embeddings failed: %s", error)
            return None
        child = vectors[0]
        known.update(zip((program.id for program in missing), vectors[1:], strict=True))
        self._cache.update(known)
        if not members:
            return Verdict(0.0, None)
        similarities = np.stack([known[program.id] for program in members]) @ child
        nearest = int(np.argmax(similarities))
        if len(self._cache) > CACHE_PER_MEMBER * max(len(members), 64):
            self._cache = {program.id: self._cache[program.id] for program in members}
        return Verdict(float(similarities[nearest]), members[nearest].id)

    def reason(self, verdict: Verdict) -> str:
        return (
            f"too similar to program {verdict.nearest} of its island (cosine similarity "
            f"{verdict.similarity:.3f} >= {self._threshold:g}): propose a more different change"
        )

    async def aclose(self) -> None:
        await self._embedder.aclose()
