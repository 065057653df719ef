"""End-to-end runs against the scripted OpenAI-protocol server over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import evoforge
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import Fault, ScriptedServer
from evoforge.testing.tasks import evoforge_cli


def model_override(server: ScriptedServer) -> list[dict[str, str]]:
    return [{"name": "scripted", "base_url": server.base_url}]


def hundred_with_eight_in_flight(task: Path, run_dir: Path, server: ScriptedServer) -> evoforge.RunResult:
    return evoforge.evolve(
        task, run_dir=run_dir, iterations=100, llm__models=model_override(server), llm__max_inflight=8
    )


def test_hundred_iterations_with_eight_in_flight(toy_task: Path, tmp_path: Path) -> None:
    with ScriptedServer(tweak_constants_responder(seed=1), latency_s=0.2) as server:
        result = hundred_with_eight_in_flight(toy_task, tmp_path / "run", server)
    assert result.evaluated == 100
    assert result.best_score > -((1.0 - 3.7) ** 2)
    with evoforge.load_run(tmp_path / "run") as run:
        status = run.status()
        programs = run.programs()
    assert status["evaluated"] == 100
    assert status["running"] is False
    assert [p.id for p in programs] == list(range(100))
    assert len({p.submission for p in programs}) == 100
    assert (tmp_path / "run" / "best_program.py").read_text() == result.best_code


def test_garbage_answers_are_failed_generations_not_iterations(toy_task: Path, tmp_path: Path) -> None:
    responder = tweak_constants_responder(seed=2)
    with ScriptedServer(
        responder, latency_s=0.01, fault_rate=0.3, fault_kinds=[Fault.GARBAGE], seed=3
    ) as server:
        result = hundred_with_eight_in_flight(toy_task, tmp_path / "run", server)
    assert result.evaluated == 100
    assert result.failed_generations >= 10
    with evoforge.load_run(tmp_path / "run") as run:
        status = run.status()
    assert status["evaluated"] == 100
    assert status["failures_by_kind"].get("no_edit", 0) >= 10


def program_table(run_dir: Path) -> list[tuple[object, ...]]:
    """Programs by submission, parents named by their submission (ids follow completion order)."""
    with evoforge.load_run(run_dir) as run:
        programs = run.programs()
    submission_of = {p.id: p.submission for p in programs}
    return sorted((p.submission, p.code, submission_of.get(p.parent_id), p.island, p.score) for p in programs)


@pytest.mark.parametrize(("inflight", "parallel"), [(1, 1), (6, 2)])
def test_same_seed_same_programs(toy_task: Path, tmp_path: Path, inflight: int, parallel: int) -> None:
    """Results enter the archive in submission order, so concurrency does not change what is found."""
    tables = []
    for name in ("a", "b"):
        with ScriptedServer(tweak_constants_responder(seed=5), latency_s=0.01) as server:
            evoforge.evolve(
                toy_task,
                run_dir=tmp_path / name,
                iterations=30,
                seed=11,
                llm__models=model_override(server),
                llm__max_inflight=inflight,
                evaluation__parallel=parallel,
            )
        tables.append(program_table(tmp_path / name))
    assert len(tables[0]) == 30
    assert tables[0] == tables[1]


def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def status_json(run_dir: Path) -> dict[str, object]:
    result = evoforge_cli("status", str(run_dir), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def start_cli_run(
    toy_task: Path, run_dir: Path, server: ScriptedServer, iterations: int
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evoforge.cli",
            "run",
            str(toy_task),
            "--run-dir",
            str(run_dir),
            "--iterations",
            str(iterations),
            "--model",
            "scripted",
            "--base-url",
            server.base_url,
            "--set",
            "llm.max_inflight=4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def evaluated_so_far(run_dir: Path) -> int:
    if not (run_dir / "evoforge.db").exists():
        return 0
    with evoforge.load_run(run_dir) as run:
        return len(run.programs())


def test_kill_nine_then_resume_continues_exactly(toy_task: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with ScriptedServer(tweak_constants_responder(seed=7), latency_s=0.05) as server:
        process = start_cli_run(toy_task, run_dir, server, iterations=400)
        wait_for(lambda: evaluated_so_far(run_dir) >= 15)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        before = status_json(run_dir)
        assert before["running"] is False
        assert before["evaluated"] >= 15
        resumed = evoforge_cli("resume", str(run_dir), "--iterations", str(before["evaluated"] + 20))
        assert resumed.returncode == 0, resumed.stderr
    after = status_json(run_dir)
    assert after["evaluated"] == before["evaluated"] + 20
    assert after["iterations"] == after["evaluated"]
    with evoforge.load_run(run_dir) as run:
        programs = run.programs()
    assert [p.id for p in programs] == list(range(after["evaluated"]))
    assert len({p.submission for p in programs}) == len(programs)


def test_sigint_stops_cleanly_with_exit_130(toy_task: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with ScriptedServer(tweak_constants_responder(seed=8), latency_s=0.2) as server:
        process = start_cli_run(toy_task, run_dir, server, iterations=1000)
        wait_for(lambda: evaluated_so_far(run_dir) >= 5)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    status = status_json(run_dir)
    assert status["running"] is False
    assert status["cancelled"] >= 1
    assert status["evaluated"] < 1000


def test_status_best_show_and_eval_commands(toy_task: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with ScriptedServer(tweak_constants_responder(seed=9), latency_s=0.0) as server:
        evoforge.evolve(toy_task, run_dir=run_dir, iterations=12, llm__models=model_override(server))
    status = status_json(run_dir)
    for key in ("evaluated", "failed_generations", "best_score", "best_program_id", "running"):
        assert key in status
    best = evoforge_cli("best", str(run_dir))
    assert best.returncode == 0 and "EVOLVE-BLOCK-START" in best.stdout
    child_id = next(p.id for p in evoforge.load_run(run_dir).programs() if p.parent_id is not None)
    shown = evoforge_cli("show", str(run_dir), str(child_id))
    assert shown.returncode == 0, shown.stderr
    for part in ("## code", "## diff to parent", "## prompt (user)", "## response", "Current program"):
        assert part in shown.stdout
    evaluated = evoforge_cli("eval", str(toy_task), str(toy_task / "initial_program.py"), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    payload = json.loads(evaluated.stdout)
    assert payload["ok"] is True
    assert payload["metrics"]["value"] == 1.0


def test_eval_of_a_failing_program_exits_1(toy_task: Path, tmp_path: Path) -> None:
    program = tmp_path / "broken.py"
    program.write_text("def solve():\n    raise ValueError('nope')\n")
    evaluated = evoforge_cli("eval", str(toy_task), str(program))
    assert evaluated.returncode == 1, evaluated.stderr
    assert evaluated.stdout.startswith("failed: evaluator raised ValueError: nope")


def test_evolve_works_inside_a_running_event_loop(toy_task: Path, tmp_path: Path) -> None:
    import asyncio

    async def notebook_cell() -> evoforge.RunResult:
        with ScriptedServer(tweak_constants_responder(seed=3)) as server:
            return evoforge.evolve(
                toy_task, run_dir=tmp_path / "run", iterations=5, llm__models=model_override(server)
            )

    assert asyncio.run(notebook_cell()).evaluated == 5
