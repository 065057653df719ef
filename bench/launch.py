"""Sandboxed evaluation launch: wall time from `Sandbox.evaluate` to its result, trivial evaluator.

Prints median and p99 over sequential launches for each stack of layers this machine offers
(L0+L1 alone, then with a separate uid, then with bubblewrap, then with cgroups), next to what the
bare interpreter costs, so the cost of each layer is visible, with the resident memory of a slot's
launcher. The first evaluation of a slot also starts its warm launcher: it is shown apart ("first").
Then the same for a real example evaluator (circle_packing_26, whose verifier runs the candidate in
an interpreter of its own), with and without the launcher preloading the evaluator's imports.

    python bench/launch.py [--launches 200] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import record

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.layers import SandboxPlan, plan_sandbox
from evoforge.evaluation.sandbox import Sandbox

EVALUATOR = "def evaluate(program_path):\n    return {'combined_score': 1.0}\n"
PROGRAM = "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"
CIRCLES = Path(__file__).parents[1] / "examples" / "circle_packing_26" / "evaluator.py"
GRID = (
    "def solve():\n"
    "    return [[(c + 0.5) / 6, (r + 0.5) / 5, 0.08] for r in range(5) for c in range(6)][:26]\n"
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def launches(sandbox: Sandbox, count: int, program: str = PROGRAM) -> tuple[float, list[float]]:
    """The first evaluation (which starts the slot's launcher) and the ``count`` after it."""
    times = []
    for _ in range(count + 1):
        started = time.perf_counter()
        result = await sandbox.evaluate(program)
        times.append(time.perf_counter() - started)
        assert result.ok, result.error
    return times[0], times[1:]


def bare_interpreter(count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return times


def launcher_rss_mb() -> float:
    """Resident memory of the largest launcher now running (its interpreter), from /proc."""
    sizes = [0]
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"sandboxed_launcher.py" in (entry / "cmdline").read_bytes():
                status = (entry / "status").read_text()
                sizes.append(int(status.split("VmRSS:")[1].split()[0]))
        except (OSError, IndexError):
            continue
    return max(sizes) / 1024


def layer_stacks() -> list[tuple[str, SandboxPlan]]:
    """The stacks to compare, cheapest first, each adding one layer; one this machine lacks is left out."""
    full = plan_sandbox(SandboxConfig())
    process = plan_sandbox(SandboxConfig(isolation="process"))
    stacks = [("L0+L1 (process limits, supervisor)", dataclasses.replace(process, landlock=None))]
    if process.landlock is not None:
        stacks.append(("+ Landlock (writes and signals confined)", process))
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
    bare = bare_interpreter(min(args.launches, 50))
    rows = [("bare `python -c pass` (subprocess.run)", bare[0], bare, None)]
    with tempfile.TemporaryDirectory() as root:
        evaluator = Path(root) / "evaluator.py"
        evaluator.write_text(EVALUATOR)
        for name, plan in layer_stacks():
            with Sandbox(evaluator, EvaluationConfig(timeout_s=30), plan=plan) as sandbox:
                first, times = asyncio.run(launches(sandbox, args.launches))
                rows.append((f"sandboxed, {name}", first, times, launcher_rss_mb()))
    full = plan_sandbox(SandboxConfig())
    for preload in ((), None):
        plan = dataclasses.replace(full, preload=preload)
        with Sandbox(CIRCLES, EvaluationConfig(timeout_s=30), plan=plan) as sandbox:
            first, times = asyncio.run(launches(sandbox, max(args.launches // 4, 10), GRID))
            what = "evaluator's imports preloaded" if preload is None else "nothing preloaded"
            rows.append((f"circle_packing_26 evaluator, all layers, {what}", first, times, launcher_rss_mb()))
    table = "| launch | first ms | median ms | p99 ms | launcher RSS MB |\n" + "| --- " * 5 + "|\n"
    table += "\n".join(
        f"| {name} | {first * 1000:.1f} | {statistics.median(t) * 1000:.1f} "
        f"| {percentile(t, 0.99) * 1000:.1f} | {'-' if rss is None else f'{rss:.0f}'} |"
        for name, first, t, rss in rows
    )
    print(table)
    if args.record:
        record(f"launch.py, {args.launches} sequential launches per stack of sandbox layers", table)


if __name__ == "__main__":
    main()
