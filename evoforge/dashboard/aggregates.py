"""Whole-run aggregates of the dashboard's run view, each one SQL statement over the narrow indexes
(``programs_outline``, ``llm_calls_outline``), and the JSON clean-up every query's rows go through."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

RATE_WINDOW = 200  # programs over which the recent evaluation rate is measured
_NONE = {"programs": 0, "ok": 0, "improved": 0}  # the outcome counts before any program
RECENT_CALLS = 1000  # model calls looked at for answers still awaiting evaluation


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing or not finite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def loads(text: str | None, default: Any) -> Any:
    """A stored JSON text, or ``default`` for none or a damaged one: a view shows what it can."""
    try:
        return json.loads(text) if text else default
    except json.JSONDecodeError:
        return default


def clean(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (metrics may hold ``-inf``)."""
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, dict):
        return {key: clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    return value


def learned(run_dir: Path, duplicates: int) -> dict[str, Any]:
    """What ``evoforge status`` also shows: the arms' weights (llm.selection), the meta-prompts, and what
    the cascade and deduplication saved; read through a read-only store, the same code as ``status``."""
    from evoforge.llm.report import llm_status
    from evoforge.savings import savings
    from evoforge.storage import SQLiteStore

    with SQLiteStore.open(run_dir, readonly=True) as store:
        status = llm_status(store)
        return {"arms": status["arms"], "meta_prompts": status["meta_prompts"], **savings(store, duplicates)}


def rates(
    db: sqlite3.Connection, count: int, last_id: int | None, start: float, last_at: float | None
) -> dict[str, float | None]:
    """Programs per second over the whole run, and over its last RATE_WINDOW programs (by seq)."""
    if not count or last_id is None or last_at is None:
        return {"overall": None, "recent": None}
    overall = count / (last_at - start) if last_at > start else None
    row = db.execute(
        "SELECT COUNT(*), MIN(created_at) FROM programs WHERE seq > ?", (last_id - RATE_WINDOW,)
    ).fetchone()
    recent = (row[0] - 1) / (last_at - row[1]) if row[0] > 1 and last_at > row[1] else None
    return {"overall": overall, "recent": recent}


def tokens(db: sqlite3.Connection, priced: bool) -> dict[str, Any]:
    """Model calls and tokens; their cost in dollars where the calls record one (``priced``)."""
    cost = "SUM(cost_usd)" if priced else "NULL"
    calls, failed, prompt, completion, usd = db.execute(
        f"SELECT COUNT(*), SUM(error IS NOT NULL), COALESCE(SUM(prompt_tokens), 0), "
        f"COALESCE(SUM(completion_tokens), 0), {cost} FROM llm_calls"
    ).fetchone()
    return {
        "calls": calls,
        "failed_calls": failed or 0,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost_usd": usd,
    }


def outcomes(db: sqlite3.Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per model and per operator (the mutator that proposed a program): programs, valid ones and
    improvements on their parent, from one pass over the narrow indexes; per model also its calls."""
    models: dict[str, dict[str, Any]] = {}
    for model, calls, failed, tokens in db.execute(
        "SELECT model, COUNT(*), SUM(error IS NOT NULL), SUM(prompt_tokens + completion_tokens) "
        "FROM llm_calls GROUP BY model"
    ):
        models[model] = {
            "model": model,
            "calls": calls,
            "failed_calls": failed,
            "tokens": tokens,
            **_NONE,
        }
    operators: dict[str, dict[str, Any]] = {}
    for operator, model, programs, ok, improved in db.execute(
        "SELECT p.mutator, c.model, COUNT(*), SUM(p.ok), "
        "SUM(p.ok AND q.id IS NOT NULL AND p.score > q.score) "
        "FROM programs AS p LEFT JOIN programs AS q INDEXED BY programs_outline ON q.id = p.parent_id "
        "LEFT JOIN llm_calls AS c INDEXED BY llm_calls_outline ON c.id = p.llm_call_id "
        "GROUP BY p.mutator, c.model"
    ):
        totals = [operators.setdefault(operator, {"operator": operator, **_NONE})]
        if model is not None:  # a model's answer became this program
            unseen = {"model": model, "calls": 0, "failed_calls": 0, "tokens": 0, **_NONE}
            totals.append(models.setdefault(model, unseen))
        for entry in totals:
            entry["programs"] += programs
            entry["ok"] += ok
            entry["improved"] += improved
    for entry in models.values():
        entry["success_rate"] = entry["ok"] / entry["calls"] if entry["calls"] else None
    for entry in operators.values():
        entry["success_rate"] = entry["ok"] / entry["programs"]
    return sorted(models.values(), key=lambda e: e["model"]), sorted(
        operators.values(), key=lambda e: e["operator"]
    )


def awaiting(db: sqlite3.Connection) -> int:
    """Model answers not yet turned into a program or a failure: the evaluations in flight now.

    Only the last RECENT_CALLS calls are looked at: the controller keeps a bounded window of work
    in flight, so an older answer has long been evaluated (or was cut off by a stop)."""
    return int(
        db.execute(
            "SELECT COUNT(*) FROM llm_calls AS c INDEXED BY llm_calls_outline "
            "WHERE c.id > (SELECT COALESCE(MAX(id), 0) FROM llm_calls) - ? AND c.error IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM programs WHERE submission = c.submission) "
            "AND NOT EXISTS (SELECT 1 FROM failed_generations WHERE submission = c.submission)",
            (RECENT_CALLS,),
        ).fetchone()[0]
    )
