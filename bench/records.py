"""Bytes stored per program and run time when evaluations return huge records.

Two evaluations the issue measured: one printing about 1 MB on each of stdout and stderr (just under
the in-flight cap ``evaluation.max_output_bytes``), one returning 200,000 metrics. Each runs
``evoforge run`` for 50 programs with the offline mutators and prints the run's wall time, the CPU
time of the run and its evaluations (steadier than wall time on a busy machine) and the database
size per program (after a checkpoint, so the write-ahead log is counted in the file).

    python bench/records.py [--programs 50] [--case flood metrics]
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRAM = "# EVOLVE-BLOCK-START\ndef solve():\n    x = 1.0\n    return x\n# EVOLVE-BLOCK-END\n"
SCORE = (
    "import importlib.util\n\n"
    "def score(program_path):\n"
    "    spec = importlib.util.spec_from_file_location('candidate', program_path)\n"
    "    module = importlib.util.module_from_spec(spec)\n"
    "    spec.loader.exec_module(module)\n"
    "    return -abs(module.solve() - 3.7)\n\n"
)
EVALUATORS = {
    "flood": SCORE + "import sys\n\ndef evaluate(program_path):\n"
    "    sys.stdout.write('o' * 999_000)\n    sys.stderr.write('e' * 999_000)\n"
    "    return {'combined_score': score(program_path)}\n",
    "metrics": SCORE + "def evaluate(program_path):\n"
    "    metrics = {f'm{i}': float(i) for i in range(200_000)}\n"
    "    metrics['combined_score'] = score(program_path)\n"
    "    return metrics\n",
}


def measure(case: str, programs: int) -> tuple[float, float, float, int]:
    """(seconds, CPU seconds, bytes stored per program, programs stored) for one case."""
    with tempfile.TemporaryDirectory() as root:
        task = Path(root) / case
        task.mkdir()
        (task / "initial_program.py").write_text(PROGRAM)
        (task / "evaluator.py").write_text(EVALUATORS[case])
        (task / "config.yaml").write_text("evaluation:\n  timeout_s: 60\n  parallel: 2\n")
        run_dir = Path(root) / "run"
        command = [sys.executable, "-m", "evoforge.cli", "run", str(task), "--run-dir", str(run_dir)]
        started, cpu_before = time.perf_counter(), _children_cpu()
        subprocess.run([*command, "--iterations", str(programs)], check=True, capture_output=True)
        seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
        database = run_dir / "evoforge.db"
        with sqlite3.connect(database) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            (stored,) = db.execute("SELECT count(*) FROM programs").fetchone()
        return seconds, cpu, database.stat().st_size / stored, stored


def _children_cpu() -> float:
    """User and system time of every finished descendant (the run, its launchers and evaluations)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=50)
    parser.add_argument("--case", nargs="+", choices=sorted(EVALUATORS), default=sorted(EVALUATORS))
    arguments = parser.parse_args()
    for case in arguments.case:
        seconds, cpu, per_program, stored = measure(case, arguments.programs)
        print(
            f"{case:8} {stored} programs: {seconds:6.1f} s, {cpu:6.1f} s CPU, "
            f"{per_program / 1024:8.1f} KiB per program"
        )


if __name__ == "__main__":
    main()
