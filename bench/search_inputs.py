"""What search mode and multi-file tasks add to an evaluation: writing more files into the scratch folder.

Wall time of ``Sandbox.evaluate`` with a trivial evaluator, under every layer this machine offers: the
program alone (one file copied, as before), a two-file bundle (the files travel as JSON and are written
by the launcher), and search mode's inputs with a solution of 1 KiB and of 256 KiB (the most a solution
may be) plus the two environment variables. The cases are interleaved, so machine load hits them alike.

    python bench/search_inputs.py [--launches 100] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from results import record

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.contract import MAX_SOLUTION_BYTES
from evoforge.evaluation.layers import plan_sandbox
from evoforge.evaluation.sandbox import Sandbox
from evoforge.improver import BUDGET_ENV, SOLUTION_ENV

EVALUATOR = "def evaluate(program_path):\n    return {'combined_score': 1.0}\n"
PROGRAM = "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"
HELPER = "# EVOLVE-BLOCK-START\ny = 2\n# EVOLVE-BLOCK-END\n" * 20


def solution(size: int) -> str:
    """JSON of circles [x, y, r] of about ``size`` bytes."""
    circles, text = [], "[]"
    while len(text) < size - 64:
        circles.append([0.123456789012345, 0.987654321098765, 0.012345678901234])
        text = json.dumps(circles)
    return text


def cases() -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    env = {SOLUTION_ENV: "best_solution.json", BUDGET_ENV: "5.0"}
    return {
        "program alone": ({}, {}),
        "two-file bundle": ({"helper.py": HELPER}, {}),
        "search mode, 1 KiB solution": ({"best_solution.json": solution(1024)}, env),
        "search mode, 256 KiB solution": ({"best_solution.json": solution(MAX_SOLUTION_BYTES)}, env),
    }


async def measure(launches: int) -> dict[str, list[float]]:
    inputs = cases()
    times: dict[str, list[float]] = {name: [] for name in inputs}
    with tempfile.TemporaryDirectory() as folder:
        evaluator = Path(folder) / "evaluator.py"
        evaluator.write_text(EVALUATOR)
        config = EvaluationConfig(timeout_s=30, parallel=1)
        async with Sandbox(evaluator, config, plan=plan_sandbox(SandboxConfig())) as sandbox:
            assert (await sandbox.evaluate(PROGRAM)).ok  # starts the slot's launcher
            for _ in range(launches):
                for name, (files, env) in inputs.items():
                    started = time.perf_counter()
                    result = await sandbox.evaluate(PROGRAM, "initial_program.py", files=files, env=env)
                    times[name].append(time.perf_counter() - started)
                    assert result.ok, result.error
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--launches", type=int, default=100)
    parser.add_argument("--record", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    times = asyncio.run(measure(args.launches))
    rows = ["| evaluation | median ms | p90 ms |", "| --- | --- | --- |"]
    for name, values in times.items():
        p90 = sorted(values)[int(0.9 * len(values))]
        rows.append(f"| {name} | {1000 * statistics.median(values):.1f} | {1000 * p90:.1f} |")
    table = "\n".join(rows)
    print(table)
    if args.record:
        record(
            f"bench/search_inputs.py (search mode and multi-file inputs), {args.launches} launches each",
            table,
        )


if __name__ == "__main__":
    main()
