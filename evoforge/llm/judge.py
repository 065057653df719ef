"""Judges: models that grade each evaluated child against a rubric from the config (``judges:``).

AlphaEvolve lets models comment on children (simplicity, readability, how plausible a claimed speed-up
is) besides the automatic evaluator. Each judge answers with one JSON object, ``{"score": <0..max_score>,
"reason": "..."}``, validated strictly; an answer that is not one is shown back to the judge once with
what is wrong, and after a second bad answer (or a failed call) the grade is recorded as missing. The grade
becomes the metric ``judge_<name>`` (usable as a feature dimension, shown in prompts); a judge with a
``threshold`` is also a filter: a child graded below it is stored with its metrics but marked failed
(``ok`` false, artifact ``judge_rejected``), so the archive never admits it. A missing grade never rejects.
Every judge request is recorded as an LLM call (``operator`` ``judge:<name>``) and counts in the budgets.

Only children whose evaluation succeeded are graded: a failed child has nothing left to judge.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from evoforge.errors import ProviderError
from evoforge.llm.feedback_settings import JudgeConfig
from evoforge.llm.openai_compat import OpenAICompatClient
from evoforge.llm.pricing import price_of
from evoforge.llm.settings import LLMConfig
from evoforge.records import NEG_INF, Evaluation, LLMCall

ATTEMPTS = 2  # the first answer and one retry after a bad one
REJECTED_ARTIFACT = "judge_rejected"
_FENCED_JSON = re.compile(r"```(?:json)?\s*\n(.*)\n```", re.DOTALL)


def metric_name(judge: JudgeConfig) -> str:
    return f"judge_{judge.name}"


class BadGrade(ValueError):
    """A judge answer that is not the JSON object asked for; the message says what is wrong."""


def parse_grade(text: str, max_score: float) -> float:
    """The score in a judge's answer: a JSON object with a number ``score`` in [0, max_score] and at most
    a string ``reason`` besides. One enclosing ```json fence is tolerated (models add it unasked)."""
    text = text.strip()
    fenced = _FENCED_JSON.fullmatch(text)
    try:
        data = json.loads(fenced.group(1) if fenced else text)
    except (ValueError, RecursionError):
        raise BadGrade("it is not a JSON object") from None
    if not isinstance(data, dict):
        raise BadGrade("it is JSON but not an object")
    extra = sorted(set(data) - {"score", "reason"})
    if extra:
        raise BadGrade(f"unexpected key {extra[0]!r}; only score and reason are allowed")
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise BadGrade('"score" must be a number')
    if not 0 <= score <= max_score:
        raise BadGrade(f'"score" {score:g} is outside 0 to {max_score:g}')
    if not isinstance(data.get("reason", ""), str):
        raise BadGrade('"reason" must be a string')
    return float(score)


def judge_messages(judge: JudgeConfig, code: str, evaluation: Evaluation) -> list[dict[str, str]]:
    system = (
        "You grade a program against a rubric. Reply with only one JSON object, without prose or code "
        f'fences: {{"score": <a number from 0 to {judge.max_score:g}>, "reason": "<one short sentence>"}}'
    )
    shown = code if len(code) <= judge.max_code_chars else code[: judge.max_code_chars] + "\n[... cut ...]"
    metrics = "; ".join(f"{name}: {value:.6g}" for name, value in evaluation.metrics.items())
    user = f"## Rubric\n{judge.rubric.strip()}\n\n## Program\nMetrics: {metrics or 'none'}\n\n{shown}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Grade:
    """One judge's grade of one child, or why it is missing."""

    judge: JudgeConfig
    score: float | None
    missing: str = ""


class JudgePanel:
    """The configured judges, each with its own client; ``grade`` asks all of them at once."""

    def __init__(self, judges: list[JudgeConfig], llm: LLMConfig) -> None:
        self.judges = list(judges)
        self._clients = [OpenAICompatClient(judge.model, llm) for judge in self.judges]

    async def grade(
        self, submission: int, code: str, evaluation: Evaluation, record: Callable[[LLMCall], object]
    ) -> Evaluation:
        """``evaluation`` with every judge's grade added, and marked failed if a filter judge rejects it.

        ``record`` stores each judge call as it ends (the controller's LLM-call recorder).
        """
        if not self.judges or not evaluation.ok:
            return evaluation
        grades = await asyncio.gather(
            *(self._ask(judge, client, submission, code, evaluation, record)
              for judge, client in zip(self.judges, self._clients, strict=True))
        )  # fmt: skip
        metrics, artifacts = dict(evaluation.metrics), dict(evaluation.artifacts)
        rejections = []
        for grade in grades:
            name = metric_name(grade.judge)
            if grade.score is None:
                artifacts[name] = f"grade missing: {grade.missing}"
                continue
            metrics[name] = grade.score
            threshold = grade.judge.threshold
            if threshold is not None and grade.score < threshold:
                rejections.append(f"judge {grade.judge.name} graded {grade.score:g}, below {threshold:g}")
        if not rejections:
            return replace(evaluation, metrics=metrics, artifacts=artifacts)
        why = "; ".join(rejections)
        artifacts[REJECTED_ARTIFACT] = why
        return replace(
            evaluation,
            metrics=metrics,
            artifacts=artifacts,
            score=NEG_INF,
            ok=False,
            error=f"rejected: {why}",
        )

    async def _ask(
        self,
        judge: JudgeConfig,
        client: OpenAICompatClient,
        submission: int,
        code: str,
        evaluation: Evaluation,
        record: Callable[[LLMCall], object],
    ) -> Grade:
        """Ask one judge, once more after a bad answer; a failed call or two bad answers: missing."""
        messages = judge_messages(judge, code, evaluation)
        problem = ""
        for _ in range(ATTEMPTS):
            started = time.time()
            call = LLMCall(
                submission=submission,
                model=judge.model.name,
                messages=tuple(messages),
                response=None,
                prompt_tokens=0,
                completion_tokens=0,
                latency_s=0.0,
                error=None,
                created_at=started,
                operator=f"judge:{judge.name}",
            )
            try:
                completion = await client.complete(messages, seed=submission)
            except ProviderError as error:
                record(replace(call, latency_s=time.time() - started, error=f"{error.kind}: {error}"))
                return Grade(judge, None, f"the call failed ({error.kind})")
            record(
                replace(
                    call,
                    response=completion.text,
                    prompt_tokens=completion.prompt_tokens,
                    completion_tokens=completion.completion_tokens,
                    latency_s=completion.latency_s,
                    cost_usd=price_of(judge.model).cost(
                        completion.prompt_tokens, completion.completion_tokens
                    ),
                )
            )
            try:
                return Grade(judge, parse_grade(completion.text, judge.max_score))
            except BadGrade as bad:
                problem = str(bad)
            messages = [
                *messages,
                {"role": "assistant", "content": completion.text},
                {
                    "role": "user",
                    "content": f"That answer is not valid: {problem}. Reply with only the JSON object.",
                },
            ]
        return Grade(judge, None, f"no valid answer in {ATTEMPTS} tries (last: {problem})")

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
