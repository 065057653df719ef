"""evoforge against OpenEvolve and ShinkaEvolve: the same toy task, scripted server, latency and LLM slots.

The peers are installed from the package index into their own virtual environments under
``.bench-cache/<name>-venv`` (git-ignored, reused) and driven through their public Python APIs only, by
the short driver scripts below. Every system runs in its own process, one after the other, against one
scripted server started once (``--latency`` per answer, ``tweak-constants`` answers); each driver
prints one JSON line with the wall time and CPU time of the run call (imports excluded): the CPU time
of its own process (the controller: for evoforge the asyncio loop, for OpenEvolve the main process
that schedules its workers, for ShinkaEvolve its runner). The busy CPU time of the whole machine over
the driver's process (from /proc/stat: start-up, the scripted server, workers and evaluations included;
child rusage would miss evaluations behind bubblewrap's pid namespace) is shown per iteration too, so
run it on a quiet machine. The table shows iterations/s, CPU per iteration and evoforge's
iterations/s over each peer's.

    python bench/peers.py [--iterations 1000] [--latency 0.5] [--slots 16] [--only evoforge openevolve]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from results import record
from throughput import EVALUATOR, PROGRAM, start_server

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"

# Every driver gets one JSON argument (program, evaluator, base_url, iterations, slots, parallel, work,
# options) and ends by printing one JSON line; MEASURE is their shared prologue.
MEASURE = """
import json, resource, sys, time
args = json.loads(sys.argv[1])

def clocks():
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return time.perf_counter(), own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime

def report(iterations, start):
    wall, own, children = (end - begin for end, begin in zip(clocks(), start))
    keys = ("iterations", "wall_s", "self_cpu_s", "children_cpu_s")
    print(json.dumps(dict(zip(keys, (iterations, wall, own, children)))))
"""

# evoforge: its run_evolution(); ``slots`` model calls in flight, one evaluation per core. Its
# ``iterations`` count the initial program, and a failed generation is an iteration here as for the peers.
EVOFORGE = """
from pathlib import Path
from evoforge.api import run_sync
from evoforge.config import apply_override, parse_config
from evoforge.runner import run_evolution
from evoforge.task import load_task
model = {"name": "scripted", "base_url": args["base_url"], "max_concurrency": args["slots"]}
data = {"llm": {"models": [model], "max_inflight": args["slots"]},
        "evaluation": {"parallel": args["parallel"]}, "iterations": args["iterations"] + 1}
for assignment in args["options"].get("set", ()):
    apply_override(data, assignment)
config = parse_config(data)
start = clocks()
result = run_sync(run_evolution(Path(args["work"]) / "run", task=load_task(Path(args["program"]).parent),
                                config=config))
report(result.evaluated - 1 + result.failed_generations, start)
"""

# OpenEvolve: its run_evolution() API; ``evaluator.parallel_evaluations`` is its number of worker
# processes, each of which asks the model and evaluates, so it is set to the LLM slots.
OPENEVOLVE = """
from openevolve import run_evolution
config = {  # written as JSON, which is YAML, to the config file its CLI and API read
    "random_seed": 0, "log_level": "WARNING", "checkpoint_interval": 10 ** 9,
    "llm": {"api_base": args["base_url"], "api_key": "none", "models": [{"name": "scripted", "weight": 1.0}]},
    "evaluator": {"parallel_evaluations": args["slots"], "cascade_evaluation": False},
}
path = args["work"] + "/config.yaml"
open(path, "w").write(json.dumps(config))
start = clocks()
run_evolution(args["program"], args["evaluator"], config=path, iterations=args["iterations"],
              output_dir=args["work"] + "/out", cleanup=False)
report(args["iterations"], start)
"""

# ShinkaEvolve: its ShinkaEvolveRunner API, the model named ``local/<name>@<base url>`` as it documents
# for OpenAI-compatible servers. Its evaluator contract is a script called with --program_path and
# --results_dir that writes metrics.json and correct.json: SHINKA_SHIM wraps the shared evaluator so.
# Diff patches only (the scripted server answers SEARCH/REPLACE), no embeddings or meta-recommendations
# (the server has no embedding endpoint). It caps its proposal concurrency by the cores it sees; with
# ``oversubscribe`` its controlled oversubscription lets proposals run ahead of the evaluations.
SHINKA_SHIM = """
if __name__ == "__main__":
    import argparse, json, os
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path")
    parser.add_argument("--results_dir")
    given = parser.parse_args()
    os.makedirs(given.results_dir, exist_ok=True)
    with open(os.path.join(given.results_dir, "metrics.json"), "w") as out:
        json.dump(evaluate(given.program_path), out)
    with open(os.path.join(given.results_dir, "correct.json"), "w") as out:
        json.dump({"correct": True, "error": None}, out)
"""
SHINKA = """
from shinka.core import EvolutionConfig, ShinkaEvolveRunner
from shinka.database import DatabaseConfig
from shinka.launch import LocalJobConfig
evaluator = args["work"] + "/evaluate.py"
open(evaluator, "w").write(open(args["evaluator"]).read() + args["options"]["shim"])
evo = EvolutionConfig(
    num_generations=args["iterations"], patch_types=["diff"], patch_type_probs=[1.0],
    llm_models=["local/scripted@" + args["base_url"]], llm_dynamic_selection=None,
    embedding_model=None, meta_rec_interval=None, init_program_path=args["program"],
    results_dir=args["work"] + "/results",
    enable_controlled_oversubscription=bool(args["options"].get("oversubscribe")),
)
runner = ShinkaEvolveRunner(
    evo_config=evo, job_config=LocalJobConfig(eval_program_path=evaluator),
    db_config=DatabaseConfig(db_path=args["work"] + "/results/evolution.sqlite"), verbose=False,
    max_evaluation_jobs=args["parallel"], max_proposal_jobs=args["slots"],
)
start = clocks()
runner.run()
report(args["iterations"], start)
"""


@dataclass(frozen=True)
class System:
    """One contestant: its package (None for evoforge itself), driver and settings."""

    label: str
    package: str | None
    driver: str
    options: dict[str, object] = field(default_factory=dict)


SYSTEMS = (
    System("evoforge", None, EVOFORGE),
    System("openevolve", "openevolve", OPENEVOLVE),
    System("shinka", "shinka-evolve", SHINKA, {"shim": SHINKA_SHIM}),
    System("shinka-oversubscribed", "shinka-evolve", SHINKA, {"shim": SHINKA_SHIM, "oversubscribe": True}),
)


def install(package: str) -> Path:
    """The peer's virtual environment, created and filled from the package index on first use."""
    venv = CACHE / f"{package}-venv"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        print(f"installing {package} into {venv} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", package], check=True)
        (venv / ".installed").touch()
    return python


def machine_busy_s() -> float:
    """CPU time every core of this machine has spent not idle since boot (Linux /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_system(system: System, task: Path, base_url: str, iterations: int, slots: int, work: Path) -> dict:
    """Run one system in its own process to ``iterations`` and return its measurements."""
    args = {
        "program": str(task / "initial_program.py"), "evaluator": str(task / "evaluator.py"),
        "base_url": base_url, "iterations": iterations, "slots": slots, "parallel": os.cpu_count() or 1,
        "work": str(work), "options": system.options,
    }  # fmt: skip
    python = install(system.package) if system.package else Path(sys.executable)
    command = [str(python), "-c", MEASURE + system.driver, json.dumps(args)]
    busy = machine_busy_s()
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=work, check=False)
    busy = machine_busy_s() - busy
    if done.returncode != 0:
        raise RuntimeError(f"{system.label} exited with {done.returncode}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "machine_cpu_s": busy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--slots", type=int, default=16, help="LLM requests in flight (peers: workers).")
    parser.add_argument("--only", nargs="+", choices=[s.label for s in SYSTEMS])
    parser.add_argument(
        "--evoforge-set", action="append", default=[], metavar="KEY=VALUE",
        help="Also run evoforge with these config overrides (repeatable), e.g. evaluation.parallel=8.",
    )  # fmt: skip
    parser.add_argument("--record", action="store_true", help="Append the table to bench/RESULTS.md.")
    args = parser.parse_args()
    systems = [s for s in SYSTEMS if s.label == "evoforge" or args.only is None or s.label in args.only]
    if args.evoforge_set:
        tuned = System(f"evoforge {' '.join(args.evoforge_set)}", None, EVOFORGE, {"set": args.evoforge_set})
        systems.insert(1, tuned)
    header = (
        "| system | iterations | wall s | it/s | controller CPU ms/it | machine CPU ms/it "
        "| evoforge it/s over it | load avg |"
    )
    print(header, flush=True)
    results: dict[str, dict] = {}
    rows = []
    server, base_url = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as root:
            task = Path(root) / "task"
            task.mkdir()
            (task / "initial_program.py").write_text(PROGRAM)
            (task / "evaluator.py").write_text(EVALUATOR)
            for system in systems:
                work = Path(root) / f"system-{len(results)}"
                work.mkdir()
                load = os.getloadavg()[0]
                r = results[system.label] = run_system(
                    system, task, base_url, args.iterations, args.slots, work
                )
                rate = r["iterations"] / r["wall_s"]
                ratio = results["evoforge"]["iterations"] / results["evoforge"]["wall_s"] / rate
                row = (
                    f"| {system.label} | {r['iterations']} | {r['wall_s']:.1f} | {rate:.2f} "
                    f"| {1000 * r['self_cpu_s'] / r['iterations']:.2f} "
                    f"| {1000 * r['machine_cpu_s'] / r['iterations']:.2f} "
                    f"| {ratio:.2f}x | {load:.1f} |"
                )
                rows.append(row)
                print(row, flush=True)
    finally:
        server.terminate()
        server.wait()
    if args.record:
        title = f"peers.py, {args.iterations} iterations, latency {args.latency} s, {args.slots} LLM slots"
        record(title, f"{header}\n{'| --- ' * 8}|\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
