"""Hostile children cost one failed evaluation each; the run completes and stays consistent."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import evoforge
from evoforge.testing.scripted_server import ScriptedServer

HOSTILE_BODIES = [
    "import os\n    os._exit(0)",
    "while True:\n        pass",
    "blob = bytearray(10 * 1024**3)\n    return float(len(blob))",
    "import sys\n    sys.stdout.write('x' * 100_000_000)\n    return 1.0",
]


def hostile_then_benign() -> object:
    counter = itertools.count()
    lock = threading.Lock()

    def respond(request: dict[str, object]) -> str:
        with lock:
            index = next(counter)
        body = HOSTILE_BODIES[index] if index < len(HOSTILE_BODIES) else f"return {2.0 + index / 10}"
        return f"Trying something.\n```python\ndef solve():\n    {body}\n```\n"

    return respond


def test_hostile_children_each_cost_one_failed_evaluation(toy_task: Path, tmp_path: Path) -> None:
    with ScriptedServer(hostile_then_benign()) as server:
        result = evoforge.evolve(
            toy_task,
            run_dir=tmp_path / "run",
            iterations=9,
            llm__models=[{"name": "scripted", "base_url": server.base_url}],
            llm__max_inflight=1,
            evaluation__timeout_s=3,
            evaluation__memory_mb=1024,
            evaluation__max_output_bytes=100_000,
        )
    assert result.evaluated == 9
    with evoforge.load_run(tmp_path / "run") as run:
        programs = run.programs()
    failed = [p for p in programs if not p.ok]
    assert len(failed) == len(HOSTILE_BODIES)
    assert all(p.score == float("-inf") and p.artifacts.get("error") for p in failed)
    assert sum(len(text) for p in failed for text in p.artifacts.values()) < 2_000_000
    assert result.best_score > -((1.0 - 3.7) ** 2)
