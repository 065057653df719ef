"""CPU time to build one prompt, in the controller's process, per prompt setting.

The prompt is built for every model call, beside the controller's ~3 ms of CPU per iteration
(throughput.py), so its cost matters at high throughput. A typical prompt: a parent and three prior
programs of ~60 lines each with metrics and a few hundred characters of artifacts. Cases: the
shipped templates as configured by default, with stochastic variants, as a crossover, and under a
size budget small enough that every trimming step runs (the worst case: one render per step).
``--builder PATH`` times another builder module with the same ``build_messages`` keywords instead
(e.g. the f-string builder of an older commit: ``git show bde06a3:evoforge/prompts/builder.py``).

    python bench/prompts.py [--prompts 2000] [--builder PATH] [--record]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.results import record
from evoforge.prompts.settings import PromptConfig
from evoforge.records import Program

LINES = 60


def program(pid: int, score: float) -> Program:
    body = "".join(f"    value_{i} = {i} * {pid} + {score}  # step {i}\n" for i in range(LINES))
    code = f"# EVOLVE-BLOCK-START\ndef solve():\n{body}    return value_0\n# EVOLVE-BLOCK-END\n"
    return Program(
        id=pid, submission=pid, code=code, parent_id=None, inspiration_ids=(), island=0, generation=1,
        mutator="llm", metrics={"combined_score": score, "radius": score / 2}, score=score, ok=True,
        artifacts={"stdout": "iteration log line\n" * 20}, features={}, created_at=0.0, eval_time_s=0.1,
    )  # fmt: skip


CASES: dict[str, dict[str, Any]] = {
    "default": {},
    "variants": {"variant": {"role": "scientist", "intent": "bold", "prior_order": "ascending"}},
    "crossover": {"operator": "crossover", "partner": program(7, 2.0)},
    "budget (every cut)": {"config": PromptConfig(max_chars=3000)},
}


def load_builder(path: str | None) -> Any:
    if path is None:
        from evoforge.prompts import builder

        return builder
    spec = importlib.util.spec_from_file_location("other_builder", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def measure(builder: Any, case: dict[str, Any], prompts: int) -> tuple[float, int]:
    """(CPU ms per prompt, characters of the prompt)."""
    arguments = {
        "context": "Pack circles in a unit square to maximise the sum of their radii. " * 5,
        "parent": program(1, 1.0), "top": [program(2, 3.0), program(3, 2.5)], "diverse": [program(4, 0.5)],
        "config": PromptConfig(), "rejections": ["SEARCH 'x = 1' does not match"], **case,
    }  # fmt: skip
    messages = builder.build_messages(**arguments)  # warm: templates compiled, caches filled
    started = time.process_time()
    for _ in range(prompts):
        builder.build_messages(**arguments)
    return (time.process_time() - started) / prompts * 1000, sum(len(m["content"]) for m in messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=2000)
    parser.add_argument("--builder", help="time this builder module instead of evoforge's")
    parser.add_argument("--record", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    builder = load_builder(args.builder)
    cases = CASES if args.builder is None else {"default": {}}
    rows = ["| case | CPU ms per prompt | characters |", "| --- | --- | --- |"]
    for name, case in cases.items():
        ms, size = measure(builder, case, args.prompts)
        rows.append(f"| {name} | {ms:.3f} | {size} |")
    table = "\n".join(rows)
    print(table)
    if args.record:
        which = f"builder {args.builder}" if args.builder else "shipped templates"
        record(f"prompts.py, {args.prompts} prompts per case, {which}", table)


if __name__ == "__main__":
    main()
