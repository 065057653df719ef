"""Evaluations/s on a Ray cluster of 1, 2 and 3 one-CPU nodes, against the ideal and the local backend.

Each row is a real ``evoforge run`` (offline mutators, no model) in a fresh process, on a task whose
evaluator sleeps ``--sleep`` seconds (1 s: the machine's 2 cores do not bound it), with
``evaluation.parallel`` = the number of nodes. The Ray rows run with ``evaluation.backend: ray`` against
a local cluster (evoforge/testing/ray_cluster.py: one ``ray start`` per node, one CPU each) that grows
by one worker node between rows; the local rows run the same config on this machine's sandbox.

"overall" counts every child from the first child's evaluation start to the last child stored, so
the run's start-up (``ray.init``, the initial program) is left out. "steady" counts only the children
stored after every slot had finished its first evaluation (on Ray: after the last node to start had
stored its first child; that warm-up, a Ray worker process and its sandbox starting on each node, and
Ray's scheduler first queueing on the driver's node, is "warm-up s"). "ideal" is the slots (the nodes
on Ray, ``evaluation.parallel`` locally) / sleep. "overhead" is what each slot spends per evaluation
beyond the sleep in the steady state (slots / steady rate - sleep): dispatch, the sandbox, the
controller. "per node" counts the children each Ray node evaluated (the node stored with each program).
``--slots-per-node 2`` sets ``evaluation.parallel`` to twice the nodes, so that Ray has the next
evaluation queued when one ends.

    python bench/ray_scale.py [--nodes 1 2 3] [--per-node 12] [--sleep 1.0] [--slots-per-node 1] [--record]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from results import record
from throughput import PROGRAM

from evoforge.testing.ray_cluster import LocalRayCluster, missing
from evoforge.testing.tasks import evoforge_command, write_task

EVALUATOR = """import importlib.util
import time


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    time.sleep({sleep})
    return {{"combined_score": -abs(module.solve() - 3.7)}}
"""


@dataclass(frozen=True)
class Row:
    backend: str
    nodes: int
    parallel: int
    evaluated: int
    overall: float  # children / (last stored - first child's evaluation start)
    steady: float  # children stored after the warm-up / (last stored - end of the warm-up)
    warm_up_s: float  # first child's evaluation start until every slot (node) stored a child
    wall_s: float
    per_node: tuple[int, ...]

    @property
    def slots(self) -> int:
        return min(self.nodes, self.parallel) if self.backend == "ray" else self.parallel


def run(task: Path, run_dir: Path, iterations: int, parallel: int, address: str | None) -> float:
    """One ``evoforge run`` to its end; its wall time."""
    settings = [f"evaluation.parallel={parallel}", "evaluation.timeout_s=60"]
    if address is not None:
        settings += ["evaluation.backend=ray", f"ray.address={address}"]
    command = evoforge_command(
        "run", str(task), "--run-dir", str(run_dir), "--iterations", str(iterations), "--seed", "1"
    )
    for setting in settings:
        command += ["--set", setting]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        sys.exit(f"evoforge run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.monotonic() - started


def measure(run_dir: Path, parallel: int) -> tuple[int, float, float, float, tuple[int, ...]]:
    """Children evaluated, their overall and steady rates, the warm-up, and how many each Ray node
    evaluated."""
    with sqlite3.connect(run_dir / "evoforge.db") as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(programs)")}
        node = "node" if "node" in columns else "NULL"
        rows = db.execute(
            f"SELECT created_at, eval_time_s, {node} FROM programs WHERE parent_id IS NOT NULL "
            "ORDER BY created_at"
        ).fetchall()
    done = [created for created, _, _ in rows]
    first_start = min(created - took for created, took, _ in rows)
    firsts: dict[str, float] = {}
    for created, _, where in rows:
        firsts.setdefault(where, created)
    ray = None not in firsts
    warm = max(firsts.values()) if ray else done[min(parallel, len(done)) - 1]
    after = [created for created in done if created > warm]
    steady = len(after) / (after[-1] - warm)
    counts = sorted((sum(1 for _, _, w in rows if w == where) for where in firsts), reverse=True)
    return len(done), len(done) / (done[-1] - first_start), steady, warm - first_start, tuple(counts)


def table(rows: list[Row], sleep: float) -> str:
    head = ["backend", "nodes", "parallel", "evaluated", "evals/s overall", "evals/s steady", "ideal"]
    head += ["steady/ideal", "overhead ms/eval", "warm-up s", "run wall s", "per node"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in rows:
        ray = row.backend == "ray"
        ideal = f"{row.slots / sleep:.2f}" if sleep else "-"
        ratio = f"{row.steady * sleep / row.slots:.0%}" if sleep else "-"
        overhead_ms = (row.slots / row.steady - sleep) * 1000
        cells = [row.backend, row.nodes if ray else "-", row.parallel, row.evaluated]
        cells += [f"{row.overall:.2f}", f"{row.steady:.2f}", ideal, ratio, f"{overhead_ms:.0f}"]
        cells += [
            f"{row.warm_up_s:.1f}",
            f"{row.wall_s:.1f}",
            "/".join(map(str, row.per_node)) if ray else "-",
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--per-node", type=int, default=12, help="Children evaluated per node (or slot).")
    parser.add_argument("--sleep", type=float, default=1.0, help="Seconds each evaluation sleeps.")
    parser.add_argument("--slots-per-node", type=int, default=1, help="evaluation.parallel per node.")
    parser.add_argument("--no-local", action="store_true", help="Skip the local backend's rows.")
    parser.add_argument("--record", action="store_true", help="Append the table to bench/RESULTS.md.")
    args = parser.parse_args()
    if missing() is not None:
        sys.exit(missing())
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ray-scale-") as scratch:
        root = Path(scratch)
        task = write_task(root, program=PROGRAM, evaluator=EVALUATOR.format(sleep=args.sleep))
        with LocalRayCluster(workers=0) as cluster:
            for nodes in sorted(args.nodes):
                while len(cluster.nodes) < nodes:
                    cluster.add_worker()
                for backend in ("ray",) if args.no_local else ("ray", "local"):
                    run_dir = root / f"{backend}-{nodes}"
                    address = cluster.address if backend == "ray" else None
                    parallel = nodes * args.slots_per_node
                    wall = run(task, run_dir, 1 + args.per_node * nodes, parallel, address)
                    measured = measure(run_dir, parallel)
                    rows.append(Row(backend, nodes, parallel, *measured[:4], wall, measured[4]))
                    print(table(rows[-1:], args.sleep).splitlines()[-1], flush=True)
    result = table(rows, args.sleep)
    print(result)
    if args.record:
        title = (
            f"ray_scale.py, one-CPU Ray nodes on this machine, evaluator sleeps {args.sleep:g} s, "
            f"{args.per_node} children per node, evaluation.parallel = {args.slots_per_node} x nodes, "
            "offline mutators"
        )
        record(title, result)


if __name__ == "__main__":
    main()
