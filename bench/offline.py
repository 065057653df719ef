"""Offline evolution on the held-out problems: share of the best-known value reached in a time budget.

For each task of ``bench/heldout/`` (the EVOLVE block is the solution itself, a random list of points)
this runs ``evoforge run`` as a user would (no model, so the default offline mutator mix, sandboxed)
for ``--seconds``, and reads from the run's database the best score at the end and after the first
``--evaluations`` programs (a budget machine load does not distort); ``--seeds N`` repeats each
measurement with seeds 0..N-1 and reports medians, since one run of a multimodal problem is noisy.
Beside it, the ceiling: a plain CMA-ES (``cmaes.CMA``, IPOP restarts) over the same coordinates in
this process, calling the task's own ``score_points`` with no sandbox, for the same time.
``--before-python`` also runs another evoforge installation (e.g. ``/work/main/.venv/bin/python``,
the code before a change) the same way. ``--concurrent 2`` runs two seeds' ``evoforge run`` at a time:
on a fast 2-core machine each then evaluates about as many programs as one run alone on a slower one
(the issue's ~120 per second), which is how the target is checked for someone else's machine.

    python bench/offline.py --seconds 150 --before-python /work/main/.venv/bin/python

Prints one line per measurement, then a summary table; the load average is printed with each number,
since the runs compete for the same cores as anything else on the machine.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import math
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
from cmaes import CMA

HELDOUT = Path(__file__).resolve().parent / "heldout"
FAILED_LOSS = 1e300


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.parent.name + "_" + path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def share(evaluator: ModuleType, score: float) -> float:
    """The score as a share of the best-known value (an energy, scored negated, as best / energy)."""
    if not math.isfinite(score):
        return 0.0
    return evaluator.BEST_KNOWN / -score if score < 0 else score / evaluator.BEST_KNOWN


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def run_evoforge(python: str, task: Path, seconds: float, evaluations: int, seed: int) -> dict[str, float]:
    """A real ``evoforge run`` stopped by wall time; the best score overall and within the first programs."""
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = Path(scratch) / "run"
        command = [
            python,
            "-m",
            "evoforge.cli",
            "run",
            str(task),
            "--run-dir",
            str(run_dir),
            "--seed",
            str(seed),
        ]
        command += ["--set", f"max_wall_time_s={seconds}"]
        # cwd is the scratch folder, so ``-m evoforge`` imports the installation of ``python``.
        subprocess.run(command, cwd=scratch, check=True, capture_output=True, timeout=seconds + 300)
        with sqlite3.connect(run_dir / "evoforge.db") as db:
            scores = [row[0] for row in db.execute("SELECT score FROM programs WHERE ok = 1 ORDER BY id")]
            total = db.execute("SELECT COUNT(*) FROM programs").fetchone()[0]
    return {
        "best": max(scores, default=-math.inf),
        "best_at_budget": max(scores[:evaluations], default=-math.inf),
        "programs": total,
    }


def run_ceiling(task: Path, seconds: float, evaluations: int, seed: int) -> dict[str, float]:
    """Plain CMA-ES over the initial program's coordinates, in process, with IPOP restarts from the best."""
    evaluator = load_module(task / "evaluator.py")
    start = np.array(load_module(task / "initial_program.py").points(), dtype=float)
    shape = start.shape

    def loss(x: np.ndarray) -> float:
        try:
            return -float(evaluator.score_points(x.reshape(shape).tolist()))
        except ValueError:
            return FAILED_LOSS

    best_x, best_loss = start.ravel(), loss(start.ravel())
    best_at_budget, count, population = best_loss, 1, None
    deadline = time.monotonic() + seconds
    sigma = float(np.std(start))
    while time.monotonic() < deadline:
        cma = CMA(mean=best_x.copy(), sigma=sigma, population_size=population, seed=seed + count)
        while time.monotonic() < deadline and not cma.should_stop():
            told = []
            for _ in range(cma.population_size):
                x = cma.ask()
                value = loss(x)
                count += 1
                if value < best_loss:
                    best_x, best_loss = x, value
                if count <= evaluations:
                    best_at_budget = best_loss
                told.append((x, value))
            cma.tell(told)
        population = 2 * cma.population_size
        sigma /= 2
    return {"best": -best_loss, "best_at_budget": -best_at_budget, "programs": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=150.0, help="budget of each run (default 150)")
    parser.add_argument("--evaluations", type=int, default=3000, help="also report the best after this many")
    parser.add_argument("--problems", default="", help="comma-separated task names (default: all held-out)")
    parser.add_argument("--python", default=sys.executable, help="the evoforge installation measured")
    parser.add_argument("--before-python", help="also measure this installation (the code before a change)")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the in-process CMA-ES ceiling")
    parser.add_argument(
        "--seeds", type=int, default=1, help="runs per measurement (seeds 0, 1, ...): the median"
    )
    parser.add_argument(
        "--concurrent", type=int, default=1, help="evoforge runs of one measurement at a time (default 1)"
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()

    names = (
        args.problems.split(",") if args.problems else sorted(p.name for p in HELDOUT.iterdir() if p.is_dir())
    )
    variants = ([("before", args.before_python)] if args.before_python else []) + [("now", args.python)]
    if not args.no_ceiling:
        variants.append(("ceiling", None))
    results: dict[str, dict[str, dict[str, float | str]]] = {}
    for name in names:
        task = HELDOUT / name
        evaluator = load_module(task / "evaluator.py")
        for label, python in variants:
            load_before = loadavg()
            if python is None:  # in process: concurrent runs would share one interpreter, not the cores
                runs = [run_ceiling(task, args.seconds, args.evaluations, seed) for seed in range(args.seeds)]
            else:
                with concurrent.futures.ThreadPoolExecutor(args.concurrent) as pool:
                    started = [
                        pool.submit(run_evoforge, python, task, args.seconds, args.evaluations, seed)
                        for seed in range(args.seeds)
                    ]
                    runs = [run.result() for run in started]
            measured = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            row = {
                **measured,
                "share": share(evaluator, measured["best"]),
                "share_at_budget": share(evaluator, measured["best_at_budget"]),
                "shares": [share(evaluator, run["best"]) for run in runs],
                "load": f"{load_before}-{loadavg()}",
            }
            results.setdefault(name, {})[label] = row
            print(
                f"{name:22} {label:8} share {row['share']:.4f} (score {measured['best']:.6g}, "
                f"{int(measured['programs'])} programs), after {args.evaluations}: "
                f"{row['share_at_budget']:.4f}, per seed {' '.join(f'{x:.3f}' for x in row['shares'])}, "
                f"load {row['load']}",
                flush=True,
            )
    labels = [label for label, _ in variants]
    print(
        f"\nshare of best known after {args.seconds:g} s (after {args.evaluations} evaluations), "
        f"median of {args.seeds} runs"
    )
    print("| problem | " + " | ".join(labels) + " |")
    print("| --- | " + " | ".join("---" for _ in labels) + " |")
    for name, rows in results.items():
        cells = [f"{rows[x]['share']:.3f} ({rows[x]['share_at_budget']:.3f})" for x in labels]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
