"""Evaluations deduplication saves on real examples with the offline mutators (no model).

Each example runs ``--iterations`` evaluated programs (1,000 by default; a run the offline mutators
can take no further stops earlier, at a streak of failed generations) with ``dedup.structural:
normalized`` (or ``exact``, to compare) and ``dedup.functional: evaluate``: structural twins are not
evaluated (counted as failed generations of kind ``duplicate``), and every fingerprint match is
evaluated anyway, so that it is counted both as an evaluation ``reuse`` would have saved and, when the
scores differ, as a collision. Shares: structural = duplicates / (duplicates + evaluated), functional =
matches / evaluated. The examples' ``target_score`` is lifted so that no run stops at its target.

    python bench/dedup.py [--iterations 1000] [--examples toy_constant sums_differences matmul_rank]
                          [--structural normalized|exact]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import evoforge
from evoforge.failstreak import NoProgressError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEFAULT = ("toy_constant", "sums_differences", "matmul_rank")


def measure(example: str, iterations: int, seed: int, structural: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        started = time.monotonic()
        stop = "iterations"
        try:
            evoforge.evolve(
                EXAMPLES / example,
                run_dir=Path(scratch) / "run",
                iterations=iterations,
                seed=seed,
                target_score=None,
                evaluation__parallel=2,
                dedup__structural=structural,
                dedup__functional="evaluate",
            )
        except NoProgressError:  # the offline mutators found no new child: the run stopped early
            stop = "no new child"
        wall = time.monotonic() - started
        with evoforge.load_run(Path(scratch) / "run") as run:
            status = run.status()
    dedup = status["dedup"]
    evaluated = status["evaluated"]
    duplicates = dedup["saved_structural"]
    return {
        "example": example,
        "evaluated": evaluated,
        "structural": duplicates,
        "structural_share": duplicates / (duplicates + evaluated),
        "functional": dedup["fingerprint_matches_evaluated"],
        "functional_share": dedup["fingerprint_matches_evaluated"] / evaluated,
        "collisions": dedup["collisions"],
        "failed": status["failed_generations"],
        "wall_s": wall,
        "stop": stop,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--examples", nargs="+", default=list(DEFAULT))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--structural", choices=("exact", "normalized"), default="normalized")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    print(
        "| example | evaluated | structural twins (share) | fingerprint matches (share) | collisions | wall s |"  # noqa: E501
    )
    print("| --- | --- | --- | --- | --- | --- |", flush=True)
    for example in args.examples:
        row = measure(example, args.iterations, args.seed, args.structural)
        structural = f"{row['structural']} ({row['structural_share']:.1%})"
        functional = f"{row['functional']} ({row['functional_share']:.1%})"
        cells = (
            row["example"],
            f"{row['evaluated']}" + (f" (stopped: {row['stop']})" if row["stop"] != "iterations" else ""),
            structural,
            functional,
            row["collisions"],
            f"{row['wall_s']:.0f}",
        )
        print("| " + " | ".join(map(str, cells)) + " |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
