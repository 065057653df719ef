"""A real model end to end: SmolLM2-135M under llama.cpp's server on 127.0.0.1, 30 model calls per edit mode.

A 135M model writes poor edits, and that is the point: real, messy answers. The run must end cleanly (exit 0)
with every answer recorded, each linked to the program it made or the failure it was. `make test-llm` runs
it; it is skipped where evoforge[real-llm] is not installed and left out of the default suite (minutes).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from evoforge.prompts.variants import SLOTS
from evoforge.testing import llama_server
from evoforge.testing.tasks import evoforge_cli, write_task

pytestmark = [
    pytest.mark.real_llm,
    pytest.mark.skipif(llama_server.missing() is not None, reason=str(llama_server.missing())),
    pytest.mark.timeout(3600),
]
CALLS = int(os.environ.get("EVOFORGE_REAL_LLM_CALLS", "30"))  # fewer on a machine too busy for 30
MODES = ("diff", "rewrite", "crossover")


@pytest.fixture(scope="module")
def server() -> Iterator[llama_server.LlamaServer]:
    with llama_server.LlamaServer() as running:
        yield running


@pytest.mark.parametrize("mode", MODES)
def test_a_run_against_a_real_model_ends_cleanly_with_every_answer_recorded(
    tmp_path: Path, server: llama_server.LlamaServer, mode: str
) -> None:
    config = {
        "iterations": 10 * CALLS,  # the call cap ends the run: a 135M model's answers mostly fail
        "max_llm_calls": CALLS,
        "evaluation": {"timeout_s": 20, "parallel": 1},
        "llm": {
            "models": [{"name": "smollm2", "base_url": server.base_url, "max_tokens": 256, "timeout": 600}],
            "max_inflight": 1,
        },
        "prompt": {  # every prompt variant drawn, so the kept runs measure them (bench/real_model.py)
            "operators": {mode: 1.0},
            "variants": {slot: dict.fromkeys(alternatives, 1.0) for slot, alternatives in SLOTS.items()},
        },
        "database": {"num_islands": 1},
    }
    task = write_task(tmp_path, yaml.safe_dump(config))
    result = evoforge_cli("run", str(task), "--run-dir", str(tmp_path / "run"), timeout=3000)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr

    db = sqlite3.connect(tmp_path / "run" / "evoforge.db")
    calls = db.execute("SELECT id, response, error, operator FROM llm_calls").fetchall()
    assert len(calls) == CALLS
    assert all((response is None) != (error is None) for _, response, error, _ in calls)  # answer or why not
    linked = call_ids(db, "programs") + call_ids(db, "failed_generations")
    assert sorted(linked) == sorted(call_id for call_id, *_ in calls)  # each answer's fate is stored once
    expected = {"crossover", "rewrite"} if mode == "crossover" else {mode}  # no partner yet: a rewrite
    assert {operator for *_, operator in calls} <= expected
    status = json.loads(evoforge_cli("status", str(tmp_path / "run"), "--json").stdout)
    assert status["evaluated"] + status["failed_generations"] == CALLS + 1  # + the initial program


def call_ids(db: sqlite3.Connection, table: str) -> list[int]:
    """The model calls the rows of ``table`` (programs, failed generations) came from."""
    return [row[0] for row in db.execute(f"SELECT llm_call_id FROM {table} WHERE llm_call_id IS NOT NULL")]
