"""What one evaluation sends back through its pipes, and the Evaluation it makes.

Stdout and stderr keep only what a program's record stores (their head and tail,
``evaluation.max_stored_output_bytes``), whatever the candidate prints; passing the in-flight cap
(``max_output_bytes``) stops the evaluation. The result pipe is read whole up to a cap that no
answer within the record limits reaches: the child bounds its answer before writing it, and a
larger one (a candidate can write to the pipe too) fails the evaluation. The answer is then
validated and bounded again, since it was computed next to the candidate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable

from evoforge.evaluation.contract import (
    MAX_ERROR_CHARS,
    MAX_NAME_CHARS,
    MAX_SOLUTION_BYTES,
    NOTE_KEY,
    ContractError,
    bound_record,
    check_solution,
    cut_note,
    cut_sizes,
    join_ends,
    normalize_artifacts,
    normalize_metrics,
    primary_score,
)
from evoforge.evaluation.settings import EvaluationConfig
from evoforge.evaluation.stages import answer_extras
from evoforge.records import NEG_INF, Evaluation

RESULT_SLACK = 1024 * 1024  # room in the result pipe for the error line, traceback and JSON syntax


class CappedBuffer:
    """A stream's first and last bytes, at most ``keep`` in all, and how long it was.

    ``cap`` is the in-flight limit: ``feed`` says when a stream passes it (its evaluation is then
    stopped) and bytes past it are only counted. Memory stays within ``keep`` whatever the stream.
    """

    def __init__(self, name: str, cap: int, keep: int) -> None:
        self.name = name
        self.cap = cap
        self.size = 0
        self._head = bytearray()
        self._tail = bytearray()
        self._head_room, self._tail_kept = cut_sizes(keep)
        self._tail_room = keep - self._head_room  # whole when nothing is cut, trimmed when it is

    def feed(self, chunk: bytes) -> bool:
        """Keep what fits; True when the stream has passed the cap."""
        under_cap = max(self.cap - self.size, 0)
        self.size += len(chunk)
        usable = memoryview(chunk)[:under_cap]
        take = max(min(len(usable), self._head_room - len(self._head)), 0)
        self._head += usable[:take]
        if len(usable) > take:
            self._tail += usable[take:]
            del self._tail[: max(len(self._tail) - self._tail_room, 0)]
        return self.size > self.cap

    @property
    def cut(self) -> bool:
        return self.size > len(self._head) + len(self._tail)

    def _ends(self) -> tuple[bytes, bytes]:
        tail = self._tail[max(len(self._tail) - self._tail_kept, 0) :] if self.cut else self._tail
        return bytes(self._head), bytes(tail)

    def data(self) -> bytes:
        """Everything, when nothing was cut."""
        return b"".join(self._ends())

    def text(self) -> str:
        return join_ends(*self._ends(), self.size)

    def note(self) -> str | None:
        """The ``truncated`` line for this stream, if it was cut."""
        head, tail = self._ends()
        return cut_note(self.name, len(head), len(tail), self.size) if self.cut else None


class Capture:
    """What one evaluation sends back: stdout, stderr and result, and when each pipe closed.

    The streams keep what the record stores (``max_stored_output_bytes``); the result is kept
    whole up to a cap no bounded answer reaches, so that a forged flood on the result pipe fails.
    """

    def __init__(self, config: EvaluationConfig, on_overflow: Callable[[], None]) -> None:
        output_cap, keep = config.max_output_bytes, config.max_stored_output_bytes
        self.stdout = CappedBuffer("stdout", output_cap, keep)
        self.stderr = CappedBuffer("stderr", output_cap, keep)
        result_cap = result_size_cap(config)
        self.result = CappedBuffer("result", result_cap, result_cap)
        self.overflowed: CappedBuffer | None = None
        self.closed: list[asyncio.Future[None]] = []
        self._on_overflow = on_overflow

    def feed(self, buffer: CappedBuffer, chunk: bytes) -> None:
        if buffer.feed(chunk) and self.overflowed is None:
            self.overflowed = buffer
            self._on_overflow()

    def streams(self) -> dict[str, str]:
        return {buffer.name: buffer.text() for buffer in (self.stdout, self.stderr) if buffer.size}

    def notes(self) -> list[str]:
        return [note for note in (self.stdout.note(), self.stderr.note()) if note]

    def artifacts(self) -> dict[str, str]:
        """The streams, and what was cut from them."""
        notes = self.notes()
        return self.streams() | ({NOTE_KEY: "\n".join(notes)} if notes else {})

    def evaluation(self, config: EvaluationConfig, score_metric: str | None) -> Evaluation:
        """The Evaluation that the result (or a flood) makes, its record bounded."""
        flood = self.overflowed
        if flood is self.result:
            error = f"result too large: more than {flood.cap:,} bytes, more than the record limits allow"
            return Evaluation.failure(error, self.artifacts())
        if flood is not None:
            error = f"output limit exceeded: more than {flood.cap} bytes on {flood.name}"
            return Evaluation.failure(error, self.artifacts())
        try:
            answer = json.loads(self.result.data())
        except (ValueError, RecursionError):  # RecursionError: a forged answer nested too deeply
            return Evaluation.failure("the result was not valid JSON", self.artifacts())
        if not isinstance(answer, dict):
            return Evaluation.failure("the result was not a JSON object", self.artifacts())
        ok = bool(answer.get("ok"))
        try:
            metrics, extra = bound_record(
                normalize_metrics(answer.get("metrics") if ok else {}),
                normalize_artifacts(answer.get("artifacts")),
                config.record_limits(),
                score_metric,
                self.notes(),
            )
            score = primary_score(metrics, score_metric) if ok else NEG_INF
            solution = check_solution(answer["solution"]) if ok and "solution" in answer else None
        except ContractError as error:
            return Evaluation.failure(f"invalid result: {error}", self.artifacts())
        artifacts = self.streams() | extra  # the evaluator's own artifacts win over captured output
        if not ok:
            error = str(answer.get("error") or "the evaluation failed")[:MAX_ERROR_CHARS]
            return dataclasses.replace(Evaluation.failure(error, artifacts), **answer_extras(answer))
        metrics = {name: float(value) for name, value in metrics.items()}
        return Evaluation(
            metrics=metrics,
            artifacts=artifacts,
            score=score,
            ok=True,
            solution=solution,
            **answer_extras(answer),
        )


def result_size_cap(config: EvaluationConfig) -> int:
    """The most bytes a child within the record limits can write as its answer, and room to spare.

    JSON escapes a byte of text into at most 6 bytes (``\\u001f``) and a character of a name
    into at most 12 (a surrogate pair); anything larger was not written by evoforge's child.
    """
    metrics = config.max_metrics * (12 * MAX_NAME_CHARS + 32)
    artifacts = 6 * (config.max_total_artifact_bytes + config.max_artifact_bytes + MAX_SOLUTION_BYTES)
    return metrics + artifacts + RESULT_SLACK
