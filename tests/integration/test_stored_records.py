"""What a real run stores for programs whose evaluations print, return and report too much."""

from __future__ import annotations

import json
from pathlib import Path

import evoforge
from evoforge.testing.tasks import write_task

# Scores like the toy evaluator, but by the mean of all metrics (no combined_score), and with a
# megabyte on each stream, 200,000 metrics and a 5 MB artifact.
EVALUATOR = """import importlib.util
import sys

from evoforge import EvaluationResult


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.stdout.write("o" * 999_000)
    sys.stderr.write("e" * 999_000)
    metrics = {f"m{i}": 0.0 for i in range(199_999)}
    metrics["closeness"] = -200_000 * (module.solve() - 3.7) ** 2
    return EvaluationResult(metrics, {"log": "l" * 5_000_000})
"""


def test_a_run_stores_bounded_records_with_a_note_of_what_was_cut(tmp_path: Path) -> None:
    task = write_task(tmp_path, "evaluation:\n  timeout_s: 60\n  parallel: 2\n")
    (task / "evaluator.py").write_text(EVALUATOR)
    evoforge.evolve(task, run_dir=tmp_path / "run", iterations=4)
    with evoforge.load_run(tmp_path / "run") as run:
        programs = run.programs()
    assert programs
    for program in programs:
        if not program.ok:
            continue  # an offline mutation that broke the program: nothing large to store
        assert len(program.metrics) == 256
        assert program.score == program.metrics["combined_score"]  # the mean of all 200,000
        for stream in ("stdout", "stderr"):
            assert len(program.artifacts[stream].encode()) <= 32 * 1024
        assert len(program.artifacts["log"].encode()) <= 32 * 1024
        assert program.artifacts["truncated"].splitlines() == [  # the child's cuts, then the controller's
            "metrics: kept 256 of 200,000: the first 255 in the evaluator's order and 'combined_score';"
            " 'combined_score' is the mean of all 200,000, the score",
            "artifact 'log': kept the first 16,360 and the last 16,360 of 5,000,000 bytes",
            "stdout: kept the first 16,360 and the last 16,360 of 999,000 bytes",
            "stderr: kept the first 16,360 and the last 16,360 of 999,000 bytes",
        ]
        stored = len(json.dumps(program.metrics)) + len(json.dumps(program.artifacts))
        assert stored < 120 * 1024
    initial = programs[0]
    assert initial.ok and initial.score == -((1.0 - 3.7) ** 2)
