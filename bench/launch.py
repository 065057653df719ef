"""Sandboxed evaluation launch: wall time from `Sandbox.evaluate` to its result, trivial evaluator.

Prints median and p99 over sequential launches for each stack of layers this machine offers
(L0+L1 alone, then with a separate uid, then with bubblewrap), next to what the bare interpreter
costs (the floor of a fresh-process design), so the cost of each layer is visible.

    python bench/launch.py [--launches 200] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.layers import SandboxPlan, plan_sandbox
from evoforge.evaluation.sandbox import Sandbox

EVALUATOR = "def evaluate(program_path):\n    return {'combined_score': 1.0}\n"
PROGRAM = "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def launches(sandbox: Sandbox, count: int) -> list[float]:
    times = []
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


def layer_stacks() -> list[tuple[str, SandboxPlan]]:
    """The stacks to compare, cheapest first, each adding one layer; one this machine lacks is left out."""
    full = plan_sandbox(SandboxConfig())
    process = plan_sandbox(SandboxConfig(isolation="process"))
    stacks = [("L0+L1 (process limits, supervisor)", process)]
    if full.uid_base is not None:
        stacks.append(("+ separate uid", dataclasses.replace(full, bwrap=None, seccomp=None, cgroups=None)))
    if full.bwrap is not None:
        stacks.append(("+ L2 bubblewrap", dataclasses.replace(full, cgroups=None)))
    if full.cgroups is not None:
        stacks.append(("+ L3 cgroup (all layers: the default here)", full))
    return stacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--record", action="store_true", help="Append the table to bench/RESULTS.md.")
    args = parser.parse_args()
    rows = [("bare `python -c pass` (subprocess.run)", bare_interpreter(min(args.launches, 50)))]
    with tempfile.TemporaryDirectory() as root:
        evaluator = Path(root) / "evaluator.py"
        evaluator.write_text(EVALUATOR)
        for name, plan in layer_stacks():
            with Sandbox(evaluator, EvaluationConfig(timeout_s=30), plan=plan) as sandbox:
                rows.append((f"sandboxed, {name}", asyncio.run(launches(sandbox, args.launches))))
    table = "| launch | median ms | p99 ms |\n| --- | --- | --- |\n" + "\n".join(
        f"| {name} | {statistics.median(t) * 1000:.1f} | {percentile(t, 0.99) * 1000:.1f} |"
        for name, t in rows
    )
    print(table)
    if args.record:
        with (Path(__file__).parent / "RESULTS.md").open("a") as out:
            out.write(
                f"\n### launch.py, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
                f"{args.launches} sequential launches per stack of sandbox layers\n\n"
            )
            out.write(table + "\n")


if __name__ == "__main__":
    main()
