"""The shapes of the JSON API, as pydantic models: FastAPI publishes them in its OpenAPI document
(``/api/openapi.json``), and responses are checked against them. Numbers that are not finite (a failed
program's ``-inf``) are ``null``. Objects allow extra keys, so fields newer evoforge adds pass through."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

# A point of a score series: [program id, score or null, seconds since the run started] (a list
# rather than a tuple: OpenAPI tools read a plain array schema).
Point = list[float | None]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class NotFound(BaseModel):
    detail: str


class RunList(_Open):
    runs: list[str]


class Tokens(_Open):
    calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


class ModelOutcome(_Open):
    model: str
    calls: int
    failed_calls: int
    tokens: int | None
    programs: int
    ok: int
    improved: int
    success_rate: float | None


class OperatorOutcome(_Open):
    operator: str
    programs: int
    ok: int
    improved: int
    success_rate: float


class Rates(_Open):
    overall: float | None
    recent: float | None


class Summary(_Open):
    run: str
    task: str
    seed: int
    created_at: float
    running: bool
    iterations: int | None
    evaluated: int
    last_program_id: int | None
    best_program_id: int | None
    best_score: float | None
    elapsed_s: float
    evaluated_per_s: Rates
    failures_by_kind: dict[str, int]
    tokens: Tokens
    models: list[ModelOutcome]
    operators: list[OperatorOutcome]
    awaiting_evaluation: int
    config: dict[str, Any]


class Series(_Open):
    after: int
    last_id: int
    bucket: int
    points: list[Point]


class BestCurve(_Open):
    run: str
    points: list[Point]
    last_id: int | None
    elapsed_s: float


class Compare(_Open):
    runs: list[BestCurve]


class ProgramRow(_Open):
    id: int
    parent_id: int | None
    island: int
    generation: int
    mutator: str
    score: float | None
    ok: bool
    created_at: float


class ProgramPage(_Open):
    after: int
    last_id: int
    programs: list[ProgramRow]


class Child(_Open):
    id: int
    score: float | None
    ok: bool
    mutator: str


class LLMCallDetail(_Open):
    id: int
    model: str
    messages: list[dict[str, Any]]
    response: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    error: str | None


class ProgramDetail(_Open):
    id: int
    parent_id: int | None
    island: int
    generation: int
    mutator: str
    created_at: float
    eval_time_s: float
    code: str
    score: float | None
    ok: bool
    metrics: dict[str, float | None]
    artifacts: dict[str, Any]
    features: dict[str, float | None]
    inspiration_ids: list[int]
    parent_score: float | None
    diff: str | None
    llm_call: LLMCallDetail | None
    children: list[Child]
    extra: dict[str, Any]


class LineageNode(_Open):
    id: int
    parent_id: int | None
    score: float | None
    mutator: str
    generation: int
    island: int
    model: str | None


class Lineage(_Open):
    focus: int
    truncated: bool
    nodes: list[LineageNode]


class Cell(_Open):
    x: int
    y: int
    program_id: int
    score: float | None


class IslandGrid(_Open):
    island: int
    cells: list[Cell]
    best: Cell | None


class Archive(_Open):
    dimensions: list[str]
    bins: int
    islands: list[IslandGrid]
    events: list[dict[str, Any]] | None
