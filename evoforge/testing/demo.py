"""`make demo`: a whole run with no API key, against the scripted OpenAI-protocol server.

The scripted server is not a language model: its answers perturb numeric literals of the current
program (deterministically). It exercises every part of a real run (HTTP, prompts, edits, sandbox,
SQLite) so that a fresh checkout shows evoforge working end to end.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from evoforge.api import run_sync
from evoforge.config import load_config
from evoforge.events import EventBus
from evoforge.runner import run_evolution
from evoforge.task import load_task
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.ui.console import ConsoleProgress, setup_logging

log = logging.getLogger("evoforge.demo")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=Path("examples/toy_constant"))
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--latency", type=float, default=0.05, help="Seconds per scripted answer.")
    args = parser.parse_args(argv)
    setup_logging()
    task = load_task(args.task)
    run_dir = args.run_dir or Path("runs") / f"demo-{task.name}"
    if (run_dir / "evoforge.db").exists():
        import shutil

        shutil.rmtree(run_dir)
    log.info("demo: no API key needed; answers come from the scripted server, which perturbs constants")
    with ScriptedServer(tweak_constants_responder(seed=0), latency_s=args.latency) as server:
        config = load_config(
            task.config_path,
            [f'llm.models=[{{name: scripted, base_url: "{server.base_url}"}}]', "llm.max_inflight=4"],
        )
        bus = EventBus()
        progress = ConsoleProgress()
        bus.subscribe(progress)
        result = run_sync(
            run_evolution(run_dir, task=task, config=config, iterations=args.iterations, bus=bus)
        )
    print(
        f"demo finished: best score {result.best_score:.6g} after {result.evaluated} programs; "
        f"best program in {result.best_path}; inspect with `evoforge status {run_dir}`"
    )


if __name__ == "__main__":
    main()
