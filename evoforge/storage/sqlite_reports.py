"""The read-side summaries of a run's database: what `status`, the dashboard and search mode ask for.

A mixin of ``SQLiteStore`` (its connection ``_db``, ``_scalar`` and ``transaction``), kept apart so that
each file has one job: sqlite.py writes and streams records, this module sums them up.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from evoforge.storage.sqlite_notes import fingerprint_rows, stage_rows


class SQLiteReports:
    _db: sqlite3.Connection

    def _scalar(self, query: str) -> int:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def solution_of(self, program_id: int) -> str | None:
        row = self._db.execute(
            "SELECT solution FROM solutions WHERE program_id = ?", (program_id,)
        ).fetchone()
        return row[0] if row else None

    def best_solution(self) -> tuple[int, str] | None:
        row = self._db.execute(
            "SELECT p.id, s.solution FROM solutions AS s JOIN programs AS p ON p.id = s.program_id "
            "WHERE p.ok = 1 AND p.score > ? ORDER BY p.score DESC, p.id LIMIT 1",
            (-math.inf,),
        ).fetchone()
        return (int(row[0]), row[1]) if row else None

    def stage_rows(self) -> Iterator[tuple[int, list[float]]]:
        return stage_rows(self._db)

    def fingerprint_rows(self) -> Iterator[tuple[int, int, str, int | None, bool, float]]:
        return fingerprint_rows(self._db)

    def token_totals(self) -> tuple[int, int]:
        row = self._db.execute(
            "SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) FROM llm_calls"
        ).fetchone()
        return int(row[0]), int(row[1])

    def evaluations_by_node(self) -> dict[str, int]:
        """Programs per Ray node that evaluated them; empty for a run evaluated on its own machine."""
        rows = self._db.execute(
            "SELECT node, COUNT(*) FROM programs WHERE node IS NOT NULL GROUP BY node ORDER BY node"
        )
        return {node: count for node, count in rows}

    def spending_by_model(self) -> dict[str, dict[str, float]]:
        rows = self._db.execute(
            "SELECT model, COUNT(*), SUM(prompt_tokens + completion_tokens), SUM(cost_usd) FROM llm_calls "
            "GROUP BY model ORDER BY model"
        )
        return {
            model: {"calls": calls, "tokens": tokens, "cost_usd": cost} for model, calls, tokens, cost in rows
        }

    def save_meta_prompts(self, snippets: list[dict[str, Any]]) -> None:
        with self.transaction():
            self._db.execute("UPDATE meta_prompts SET active = 0")
            self._db.executemany(
                "INSERT INTO meta_prompts (id, parent_id, text, submission, created_at, uses, "
                "total_improvement, active) VALUES (:id, :parent_id, :text, :submission, :created_at, :uses, "
                ":total_improvement, 1) ON CONFLICT (id) DO UPDATE SET uses = excluded.uses, "
                "total_improvement = excluded.total_improvement, active = 1",
                snippets,
            )

    def meta_prompts(self) -> list[dict[str, Any]]:
        columns = (
            "id",
            "parent_id",
            "text",
            "submission",
            "created_at",
            "uses",
            "total_improvement",
            "active",
        )
        rows = self._db.execute(f"SELECT {', '.join(columns)} FROM meta_prompts ORDER BY id")
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def feedback_counts(self) -> dict[str, Any]:
        """Repair follow-ups asked, the children they made and how many evaluated ok; judge rejections."""
        children, valid = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(ok), 0) FROM programs WHERE repaired = 1"
        ).fetchone()
        return {
            "repairs": {
                "asked": self._scalar("SELECT COUNT(*) FROM llm_calls WHERE operator = 'repair'"),
                "children": int(children),
                "valid": int(valid),
            },
            "judge_rejected": self._scalar(
                "SELECT COUNT(*) FROM programs WHERE json_extract(artifacts, '$.judge_rejected') IS NOT NULL"
            ),
        }
