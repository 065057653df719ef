"""`make demo`: a whole run with no model and no API key, using the offline mutators tune and gp.

With no language model configured evoforge mutates programs itself: ``tune`` runs CMA-ES over the
numeric literals of the EVOLVE blocks and ``gp`` makes small syntax-tree edits. On the toy task that
is enough to find the optimum, and it exercises every other part of a real run (selection, sandboxed
evaluation, SQLite, resume state) so that a fresh checkout shows evoforge working end to end.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from evoforge.api import run_sync
from evoforge.config import load_config
from evoforge.events import EventBus
from evoforge.runner import run_evolution
from evoforge.task import load_task
from evoforge.ui.console import ConsoleProgress, setup_logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=Path("examples/toy_constant"))
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args(argv)
    setup_logging()
    task = load_task(args.task)
    run_dir = args.run_dir or Path("runs") / f"demo-{task.name}"
    if (run_dir / "evoforge.db").exists():
        shutil.rmtree(run_dir)
    config = load_config(task.config_path, ["llm.models=[]", "mutators=null"])
    bus = EventBus()
    bus.subscribe(ConsoleProgress())
    result = run_sync(run_evolution(run_dir, task=task, config=config, iterations=args.iterations, bus=bus))
    print(
        f"demo finished: best score {result.best_score:.6g} after {result.evaluated} programs; "
        f"best program in {result.best_path}; inspect with `evoforge status {run_dir}`"
    )


if __name__ == "__main__":
    main()
