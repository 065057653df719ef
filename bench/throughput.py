"""Pipeline throughput against the scripted server: iterations/s versus the ideal, and controller CPU.

The scripted server runs in its own process so that the controller's CPU time (this process; the
sandboxed evaluations are children and not counted) is the controller's alone. "Steady" figures
span the middle 80% of the evaluated programs (no start-up, ramp or drain); "overall" figures span
the whole evolve() call, imports and the initial evaluation included. Prints one line per setting
and appends a table to bench/RESULTS.md with --record.

    python bench/throughput.py [--latency 0 0.1 0.5 2] [--inflight 1 4 16 64]
                               [--evaluation trivial cpu50ms sleep1s] [--seconds 15] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evoforge.api import run_sync
from evoforge.config import parse_config
from evoforge.evaluation.sandbox import Sandbox
from evoforge.events import EventBus, ProgramEvaluated
from evoforge.runner import run_evolution
from evoforge.task import load_task

PROGRAM = "# EVOLVE-BLOCK-START\ndef solve():\n    x = 1.0\n    return x\n# EVOLVE-BLOCK-END\n"
EVALUATOR = (
    "import importlib.util\n\n"
    "def evaluate(program_path):\n"
    "    spec = importlib.util.spec_from_file_location('candidate', program_path)\n"
    "    module = importlib.util.module_from_spec(spec)\n"
    "    spec.loader.exec_module(module)\n"
    "    return {'combined_score': -abs(module.solve() - 3.7)}\n"
)
# The evaluation costs E of the issue: trivial, 50 ms of CPU, a 1 s sleep (waiting on something else).
EVALUATORS = {
    "trivial": EVALUATOR,
    "cpu50ms": EVALUATOR.replace(
        "def evaluate(program_path):\n",
        "import time\n\ndef evaluate(program_path):\n    start = time.process_time()\n"
        "    while time.process_time() - start < 0.05:\n        pass\n",
    ),
    "sleep1s": EVALUATOR.replace(
        "def evaluate(program_path):\n", "import time\n\ndef evaluate(program_path):\n    time.sleep(1)\n"
    ),
}


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evoforge.testing.scripted_server",
            "--port",
            "0",
            "--latency",
            str(latency),
            "--responder",
            "tweak-constants",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    base_url = line.split()[-1]
    return process, base_url


def evaluation_time(task: Path, parallel: int) -> float:
    config = parse_config({"evaluation": {"parallel": parallel}})

    async def measure() -> list[float]:
        times = []
        async with Sandbox(task / "evaluator.py", config.evaluation) as sandbox:
            for _ in range(10):
                start = time.perf_counter()
                await sandbox.evaluate(PROGRAM)
                times.append(time.perf_counter() - start)
        return times

    return statistics.median(asyncio.run(measure()))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_once(
    latency: float, inflight: int, evaluator: str, seconds: float, most: int, parallel: int
) -> dict[str, float]:
    """One setting, run for about ``seconds`` at the ideal rate (at least 40, at most ``most`` iterations)."""
    with tempfile.TemporaryDirectory() as root:
        task = Path(root) / "task"
        task.mkdir()
        (task / "initial_program.py").write_text(PROGRAM)
        (task / "evaluator.py").write_text(EVALUATORS[evaluator])
        eval_s = evaluation_time(task, parallel)
        ideal = min(inflight / latency if latency else float("inf"), parallel / eval_s)
        iterations = max(40, min(most, int(ideal * seconds)))
        server, base_url = start_server(latency)
        stamps: list[tuple[float, float]] = []

        def stamp(event: object) -> None:
            if isinstance(event, ProgramEvaluated):
                stamps.append((time.perf_counter(), cpu_seconds()))

        bus = EventBus()
        bus.subscribe(stamp)
        config = parse_config(
            {
                "llm": {
                    "models": [{"name": "scripted", "base_url": base_url, "max_concurrency": inflight}],
                    "max_inflight": inflight,
                },
                "evaluation": {"parallel": parallel},
            }
        )
        try:
            wall0, cpu0 = time.perf_counter(), cpu_seconds()
            result = run_sync(
                run_evolution(
                    Path(root) / "run", task=load_task(task), config=config, iterations=iterations, bus=bus
                )
            )
            wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        finally:
            server.terminate()
            server.wait()
    done = result.evaluated - 1
    first, last = len(stamps) // 10, len(stamps) - 1 - len(stamps) // 10
    steady = (last - first) / (stamps[last][0] - stamps[first][0])
    steady_cpu = (stamps[last][1] - stamps[first][1]) / (last - first)
    return {
        "iterations": iterations,
        "rate": steady,
        "overall": done / wall,
        "ideal": ideal,
        "ratio": steady / ideal,
        "cpu_ms": 1000 * steady_cpu,
        "cpu_ms_overall": 1000 * cpu / done,
        "eval_ms": 1000 * eval_s,
        "failed": result.failed_generations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.5])
    parser.add_argument("--inflight", type=int, nargs="+", default=[16])
    parser.add_argument("--evaluation", nargs="+", choices=sorted(EVALUATORS), default=["trivial"])
    parser.add_argument("--seconds", type=float, default=15.0, help="About how long each setting runs.")
    parser.add_argument("--iterations", type=int, default=1000, help="At most this many per setting.")
    parser.add_argument("--parallel", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--record", action="store_true", help="Append the table to bench/RESULTS.md.")
    args = parser.parse_args()
    rows = []
    header = (
        "| evaluation | latency s | in flight | iterations | eval ms | it/s steady | it/s overall "
        "| ideal it/s | ratio (steady) | controller CPU ms/it steady | CPU ms/it overall | failed gens |"
    )
    print(header)
    for evaluator in args.evaluation:
        for latency in args.latency:
            for inflight in args.inflight:
                r = run_once(latency, inflight, evaluator, args.seconds, args.iterations, args.parallel)
                row = (
                    f"| {evaluator} | {latency} | {inflight} | {r['iterations']} | {r['eval_ms']:.1f} "
                    f"| {r['rate']:.2f} | {r['overall']:.2f} | {r['ideal']:.2f} | {r['ratio']:.1%} "
                    f"| {r['cpu_ms']:.2f} | {r['cpu_ms_overall']:.2f} | {r['failed']} |"
                )
                rows.append(row)
                print(row, flush=True)
    if args.record:
        results = Path(__file__).parent / "RESULTS.md"
        stamp = time.strftime("%Y-%m-%d")
        with results.open("a") as out:
            out.write(
                f"\n### throughput.py, {stamp}, {os.cpu_count()} cores, "
                f"about {args.seconds:g} s per setting, evaluation.parallel={args.parallel}, "
                f"load {os.getloadavg()[0]:.1f}\n\n"
                f"{header}\n{'| --- ' * 12}|\n"
            )
            out.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
