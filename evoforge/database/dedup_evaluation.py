"""The controller's deduplication step around one evaluation (the policy is in dedup.py).

The structural check needs only the code; the functional one runs the evaluator's ``fingerprint()``
in the sandbox first and, on a match with ``dedup.functional: reuse``, hands back the earlier
program's evaluation instead of running the evaluator.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from evoforge.database.dedup import CodeIndex, DedupConfig, FingerprintIndex
from evoforge.records import Evaluation, Program
from evoforge.storage.base import ProgramStore

log = logging.getLogger(__name__)

REUSED_KEY = "reused"  # the artifact that says whose evaluation a child reuses

Evaluate = Callable[..., Awaitable[Evaluation]]  # the sandbox's evaluate, code and files bound; call=...


class Deduplicator:
    """The structural and functional indexes of one run, rebuilt from its store on start."""

    def __init__(self, config: DedupConfig, window: int, filename: str, store: ProgramStore) -> None:
        self._config = config
        self._store = store
        self.code = CodeIndex(window, filename, config.structural)  # filled by replay
        self._fingerprints = FingerprintIndex(window)
        self._fingerprinting = config.functional != "off"
        if self._fingerprinting:
            for program_id, submission, fingerprint, *_ in store.fingerprint_rows():
                self._fingerprints.add(fingerprint, submission, program_id)

    def twin(self, code: str, submission: int) -> int | None:
        """The evaluated program ``code`` structurally repeats, or None."""
        return self.code.twin(code, submission)

    async def evaluate(self, submission: int, evaluate: Evaluate) -> Evaluation:
        """``evaluate()``, unless the fingerprint names an earlier program whose evaluation is reused."""
        if not self._fingerprinting:
            return await evaluate()
        probe = await evaluate(call="fingerprint")
        fingerprint = probe.fingerprint if probe.ok else None
        if probe.ok and fingerprint is None:  # the evaluator defines no fingerprint(): stop asking
            log.warning(
                "dedup.functional is %s but the evaluator defines no fingerprint()", self._config.functional
            )
            self._fingerprinting = False
        match = self._fingerprints.match(fingerprint, submission) if fingerprint is not None else None
        if match is not None and self._config.functional == "reuse":
            earlier = self._store.get_program(match)
            if earlier is not None:
                return _reused(earlier, fingerprint, probe.duration_s)
        evaluation = await evaluate()
        return dataclasses.replace(evaluation, fingerprint=fingerprint)

    def stored(self, program: Program, evaluation: Evaluation) -> None:
        """Index a program just stored: the reference later twins of it get."""
        self.code.stored(program.submission, program.id)
        if evaluation.fingerprint is not None:
            self._fingerprints.add(evaluation.fingerprint, program.submission, program.id)


async def initial_fingerprint(config: DedupConfig, evaluation: Evaluation, evaluate: Evaluate) -> Evaluation:
    """The initial program's evaluation with its fingerprint, so that its functional twins are caught."""
    if config.functional == "off":
        return evaluation
    probe = await evaluate(call="fingerprint")
    return dataclasses.replace(evaluation, fingerprint=probe.fingerprint) if probe.ok else evaluation


def _reused(earlier: Program, fingerprint: str, duration_s: float) -> Evaluation:
    """``earlier``'s evaluation for a child with its fingerprint, saying so in an artifact."""
    origin = earlier.id
    note = f"not evaluated: its fingerprint() equals that of program {origin}, whose evaluation this is"
    return Evaluation(
        metrics=dict(earlier.metrics),
        artifacts={**earlier.artifacts, REUSED_KEY: note},
        score=earlier.score,
        ok=earlier.ok,
        error=earlier.artifacts.get("error") if not earlier.ok else None,
        duration_s=duration_s,
        fingerprint=fingerprint,
        duplicate_of=origin,
    )
