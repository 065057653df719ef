"""End-to-end runs against the scripted OpenAI-protocol server over real HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import evoforge
from evoforge.testing.programs import program_table
from evoforge.testing.responders import Responder, tweak_constants_responder
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
    best = max((p for p in programs if p.is_valid), key=lambda p: (p.score, -p.id))  # the oldest on a tie
    assert (tmp_path / "run" / "best_program.py").read_text() == best.code
    assert (result.best_program_id, result.best_score) == (best.id, best.score)


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


def run_command(toy_task: Path, run_dir: Path, server: ScriptedServer, iterations: int) -> list[str]:
    return [
        sys.executable, "-m", "evoforge.cli", "run", str(toy_task), "--run-dir", str(run_dir),
        "--iterations", str(iterations), "--model", "scripted", "--base-url", server.base_url,
        "--set", "llm.max_inflight=4",
    ]  # fmt: skip


def start_cli_run(
    toy_task: Path, run_dir: Path, server: ScriptedServer, iterations: int
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        run_command(toy_task, run_dir, server, iterations),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def evaluated_so_far(run_dir: Path) -> int:
    if not (run_dir / "evoforge.db").exists():
        return 0
    with evoforge.load_run(run_dir) as run:
        return len(run.programs())


def unfinished_below_finished(run_dir: Path) -> list[int]:
    """Submissions with no outcome stored although a later one has one: work a kill would cut off."""
    if not (run_dir / "evoforge.db").exists():
        return []
    db = sqlite3.connect(f"{(run_dir / 'evoforge.db').as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT submission FROM programs UNION SELECT submission FROM failed_generations")
        done = {int(submission) for (submission,) in rows}
    finally:
        db.close()
    return [s for s in range(max(done, default=0)) if s not in done]


def uneven(responder: Responder) -> Responder:
    """``responder`` answering one request in three (chosen by its content) 0.3 s late, so that model
    calls finish out of submission order and a kill finds older work unfinished behind newer."""

    def respond(request: dict[str, Any]) -> str:
        answer = responder(request)
        if hashlib.sha256(json.dumps(request["messages"]).encode()).digest()[0] % 3 == 0:
            time.sleep(0.3)
        return answer

    return respond


def test_kill_nine_then_resume_stores_the_programs_of_a_straight_run(toy_task: Path, tmp_path: Path) -> None:
    """A model-driven run killed with SIGKILL, then resumed, ends with the same programs (code, parent,
    mutator, by submission) as the same run never interrupted: the resume makes the cut-off work again."""
    total = 40
    with ScriptedServer(uneven(tweak_constants_responder(seed=7)), latency_s=0.02) as server:
        straight = subprocess.run(
            run_command(toy_task, tmp_path / "straight", server, total), capture_output=True, text=True
        )
        assert straight.returncode == 0, straight.stderr
        run_dir = tmp_path / "run"
        process = start_cli_run(toy_task, run_dir, server, iterations=total)
        wait_for(lambda: evaluated_so_far(run_dir) >= 15 and bool(unfinished_below_finished(run_dir)))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        before = status_json(run_dir)
        assert before["running"] is False and before["evaluated"] < total
        cut_off = unfinished_below_finished(run_dir)
        resumed = evoforge_cli("resume", str(run_dir))
        assert resumed.returncode == 0, resumed.stderr
    after = status_json(run_dir)
    assert after["evaluated"] == total
    with evoforge.load_run(run_dir) as run:
        programs = run.programs()
    assert [p.id for p in programs] == list(range(total))
    table = program_table(run_dir)
    assert table == program_table(tmp_path / "straight")
    remade = {row[0] for row in table} & set(cut_off)
    assert remade, f"no submission cut off by the kill ({cut_off}) was made again"


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
