"""Sandboxed evaluation launch: wall time from `Sandbox.evaluate` to its result, trivial evaluator.

Prints median and p99 over sequential launches, next to what the bare interpreter costs on this
machine (the floor of a fresh-process design), so the sandbox's own overhead is visible.

    python bench/launch.py [--launches 200] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evoforge.config import EvaluationConfig
from evoforge.evaluation.sandbox import Sandbox, pidfd_child_watcher

EVALUATOR = "def evaluate(program_path):\n    return {'combined_score': 1.0}\n"
PROGRAM = "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def launches(sandbox: Sandbox, count: int) -> list[float]:
    times = []
    with pidfd_child_watcher():
        for _ in range(count):
            started = time.perf_counter()
            result = await sandbox.evaluate(PROGRAM)
            times.append(time.perf_counter() - started)
            assert result.ok, result.error
    return times


def bare_interpreter(count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--record", action="store_true", help="Append the table to bench/RESULTS.md.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        evaluator = Path(root) / "evaluator.py"
        evaluator.write_text(EVALUATOR)
        sandbox = Sandbox(evaluator, EvaluationConfig(timeout_s=30))
        sandboxed = asyncio.run(launches(sandbox, args.launches))
    bare = bare_interpreter(min(args.launches, 50))
    rows = [
        ("bare `python -c pass` (subprocess.run)", bare),
        ("sandboxed evaluation, trivial evaluator", sandboxed),
    ]
    table = "| launch | median ms | p99 ms |\n| --- | --- | --- |\n" + "\n".join(
        f"| {name} | {statistics.median(t) * 1000:.1f} | {percentile(t, 0.99) * 1000:.1f} |"
        for name, t in rows
    )
    print(table)
    if args.record:
        with (Path(__file__).parent / "RESULTS.md").open("a") as out:
            out.write(
                f"\n### launch.py, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
                f"{args.launches} sequential launches (first sandbox layer)\n\n"
            )
            out.write(table + "\n")


if __name__ == "__main__":
    main()
