"""Controller cost at scale: CPU per iteration, peak memory and resume time with 1k to 100k programs stored.

For each size N a run directory is filled with N evaluated programs through the store API (one
transaction, seconds), then `evoforge resume`'s code path continues it in a fresh process for
``--iterations`` more against the scripted server (or the offline mutators with ``--offline``: the
programs are then stamped ``tune`` or ``gp`` by the offline weights and the database also holds the
mutator state a live offline run saves, made by the real ``Mix`` told the last applied programs and
asked the submissions still in flight, so the resume restores it and replays every stored program
through the mutators as a real resume does). That process reports its controller CPU (its own process
time; the sandboxed evaluations are children and the scripted server is a separate process, neither is
counted), its peak resident memory, and the resume time: from the process start to the controller's
first new submission (RunStarted, emitted once the archive is rebuilt; the first submissions are made
in the same step).

    python bench/scale.py [--sizes 1000 10000 100000] [--iterations 200] [--offline] [--record]
    python bench/scale.py --offline --sizes 10000 --iterations 5 --profile /tmp/resume.prof

``--profile`` writes the cProfile statistics of the resume alone (process start to RunStarted).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import record
from throughput import EVALUATOR, cpu_seconds, start_server

from evoforge import __version__
from evoforge.config import Config, parse_config
from evoforge.controller import MUTATOR_STATE_KEY
from evoforge.database.features import FeatureReference, compute_features
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.mutators.mixing import OFFLINE_WEIGHTS, Mix
from evoforge.records import Candidate, Evaluation, Program, RunInfo
from evoforge.replay import submission_rng
from evoforge.storage import SQLiteStore
from evoforge.task import load_task

TARGET = 3.7  # the toy evaluator's optimum for ``x``
TOLD_FOR_STATE = 2000  # applied programs told to the offline mutators to make the saved state


def program_code(x: float, extra: list[float]) -> str:
    """A variant of the toy program: ``x`` sets the score, the extra lines spread length and diversity."""
    lines = [f"    c{i} = {value!r}" for i, value in enumerate(extra)]
    body = "\n".join([f"    x = {x!r}", *lines, "    return x"])
    return f"# EVOLVE-BLOCK-START\ndef solve():\n{body}\n# EVOLVE-BLOCK-END\n"


def build_run(
    run_dir: Path, task_dir: Path, size: int, config: dict[str, object], seed: int = 0, offline: bool = False
) -> float:
    """Store ``size`` programs (the initial one and a random genealogy of variants); return the seconds.

    ``offline``: programs are stamped by the offline mutators and the offline mutator state is saved.
    """
    start = time.perf_counter()
    parsed = parse_config(config)
    initial = program_code(1.0, [0.5] * 8)
    (task_dir / "initial_program.py").write_text(initial)
    info = RunInfo(
        str(task_dir), task_dir.name, parsed.model_dump(mode="json"), seed, time.time(), __version__
    )
    reference = FeatureReference.from_code(initial)
    dimensions = parsed.database.feature_dimensions
    rng = random.Random(seed)
    islands = parsed.database.num_islands
    generations: list[int] = []
    window = parsed.llm.max_inflight + parsed.evaluation.parallel
    kept: list[Program] = []  # the last programs, to tell and ask the offline mutators
    names, weights = list(OFFLINE_WEIGHTS), list(OFFLINE_WEIGHTS.values())
    with SQLiteStore.create(run_dir, info) as store, store.transaction():
        for i in range(size):
            x = 1.0 if i == 0 else round(rng.uniform(-5, 10), 6)
            extra = [round(rng.random(), rng.randrange(1, 7)) for _ in range(rng.randrange(30))]
            code = initial if i == 0 else program_code(x, extra)
            parent = None if i == 0 else rng.randrange(i)
            if i == 0 or rng.random() > 0.05:
                evaluation = Evaluation({"combined_score": -abs(x - TARGET)}, {}, -abs(x - TARGET), True)
            else:
                evaluation = Evaluation.failure("Traceback: ValueError: synthetic failure")
            generations.append(0 if parent is None else generations[parent] + 1)
            mutator = "initial" if i == 0 else rng.choices(names, weights)[0] if offline else "llm"
            candidate = Candidate(i, code, parent, (), i % islands, generations[-1], mutator)
            features = compute_features(code, evaluation.metrics, reference, dimensions)
            program = store.add_program(candidate, evaluation, features)
            if offline and i >= size - window - TOLD_FOR_STATE:
                kept.append(program)
        if offline:
            store.set_state(MUTATOR_STATE_KEY, offline_state(task_dir, parsed, kept, size, window))
    return time.perf_counter() - start


def offline_state(task_dir: Path, config: Config, kept: list[Program], size: int, window: int) -> object:
    """The mutator state a live offline run saves after submitting ``size - 1``: the real mix told the
    applied programs of ``kept`` (submissions up to ``size - window``) and asked the later ones."""
    mix = Mix.from_config(load_task(task_dir), config)
    valid = [p for p in kept if p.is_valid and p.submission > 0]
    for program in kept:
        if 0 < program.submission <= size - window:
            mix.tell(Feedback(program.submission, program))
    for submission in range(max(1, size - window + 1), size):
        parent = max(valid[:-window] or valid, key=lambda p: p.score)
        rng = submission_rng(config.seed, submission)
        mix.ask(ProposalRequest(submission, parent, tuple(valid[-4:]), (), (), rng))
    return mix.state()


def resume_worker(run_dir: Path, iterations: int, profile: Path | None = None) -> None:
    """Continue the run for ``iterations`` more and print one JSON line of measurements."""
    profiler = cProfile.Profile() if profile is not None else None
    if profiler is not None:
        profiler.enable()
    from evoforge.api import run_sync
    from evoforge.events import EventBus, ProgramEvaluated, RunStarted
    from evoforge.runner import run_evolution

    stamps: list[float] = []
    started: list[float] = []

    def stamp(event: object) -> None:
        if isinstance(event, RunStarted):
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(str(profile))
            print("started", flush=True)  # the parent times the resume by this line
            started.append(cpu_seconds())
            stamps.clear()
        elif isinstance(event, ProgramEvaluated):
            stamps.append(cpu_seconds())

    bus = EventBus()
    bus.subscribe(stamp)
    with SQLiteStore.open(run_dir, readonly=True) as store:
        stored = store.count_programs()
    result = run_sync(run_evolution(run_dir, iterations=stored + iterations, bus=bus))
    first, last = len(stamps) // 10, len(stamps) - 1 - len(stamps) // 10
    report = {
        "resume_cpu_s": started[0],
        "cpu_ms": 1000 * (stamps[last] - stamps[first]) / max(1, last - first),
        "cpu_ms_overall": 1000 * (cpu_seconds() - started[0]) / max(1, result.evaluated - stored),
        "new": result.evaluated - stored,
        "failed": result.failed_generations,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(report), flush=True)


def measure(
    size: int, iterations: int, base_url: str | None, parallel: int, profile: Path | None = None
) -> dict[str, float]:
    """Build a run of ``size`` programs and resume it in a fresh process."""
    config: dict[str, object] = {"evaluation": {"parallel": parallel}}
    if base_url is not None:
        model = {"name": "scripted", "base_url": base_url, "max_concurrency": 16}
        config["llm"] = {"models": [model], "max_inflight": 16}
    with tempfile.TemporaryDirectory() as root:
        task_dir, run_dir = Path(root) / "task", Path(root) / "run"
        task_dir.mkdir()
        (task_dir / "evaluator.py").write_text(EVALUATOR)
        build_s = build_run(run_dir, task_dir, size, config, offline=base_url is None)
        db_mb = (run_dir / "evoforge.db").stat().st_size / 2**20
        command = [sys.executable, __file__, "--resume-worker", str(run_dir), "--iterations", str(iterations)]
        if profile is not None:
            command += ["--profile", str(profile.with_suffix(f".{size}{profile.suffix}"))]
        wall0 = time.perf_counter()
        worker = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert worker.stdout is not None
        lines = iter(worker.stdout.readline, "")
        if next(lines).strip() != "started":
            raise RuntimeError("the resumed run did not start")
        resume_s = time.perf_counter() - wall0
        report = json.loads(next(lines))
        run_s = time.perf_counter() - wall0 - resume_s
        if worker.wait() != 0:
            raise RuntimeError(f"the resumed run exited with {worker.returncode}")
    return {**report, "build_s": build_s, "db_mb": db_mb, "resume_s": resume_s, "rate": report["new"] / run_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--parallel", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--offline", action="store_true", help="Offline mutators instead of the server.")
    parser.add_argument("--record", action="store_true", help="Append the table to bench/RESULTS.md.")
    parser.add_argument("--profile", type=Path, help="cProfile the resume into PATH (size in its name).")
    parser.add_argument("--resume-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.resume_worker is not None:
        resume_worker(args.resume_worker, args.iterations, args.profile)
        return
    header = (
        "| programs | build s | db MB | resume s | resume CPU s | CPU ms/it steady | CPU ms/it overall "
        "| peak RSS MB | it/s | failed gens | load avg |"
    )
    print(header, flush=True)
    rows = []
    server = None
    try:
        base_url = None
        if not args.offline:
            server, base_url = start_server(args.latency)
        for size in args.sizes:
            r = measure(size, args.iterations, base_url, args.parallel, args.profile)
            row = (
                f"| {size} | {r['build_s']:.1f} | {r['db_mb']:.0f} | {r['resume_s']:.2f} "
                f"| {r['resume_cpu_s']:.2f} "
                f"| {r['cpu_ms']:.2f} | {r['cpu_ms_overall']:.2f} | {r['peak_rss_mb']:.0f} | {r['rate']:.1f} "
                f"| {r['failed']} | {os.getloadavg()[0]:.1f} |"
            )
            rows.append(row)
            print(row, flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
    if args.record:
        mutators = (
            "offline mutators" if args.offline else f"scripted server, latency {args.latency} s, 16 in flight"
        )
        title = (
            f"scale.py, {args.iterations} iterations resumed, {mutators}, evaluation.parallel={args.parallel}"
        )
        record(title, f"{header}\n{'| --- ' * 11}|\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
