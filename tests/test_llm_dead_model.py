"""One dead model of several: it is taken out with one warning and the run goes on with the others; the run
stops (one line, exit 2) only when no model is left. Real runs through the command line, real HTTP."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

import evoforge
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import Fault, ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

ITERATIONS = 8
IN_FLIGHT = 2
GOING_ON = "going on without it"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def run(task: Path, run_dir: Path, *models: dict[str, Any]) -> Any:
    settings = {"llm.models": json.dumps(list(models)), "llm.max_inflight": IN_FLIGHT, "llm.retries": 0}
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    return evoforge_cli("run", str(task), "--run-dir", str(run_dir), "--iterations", str(ITERATIONS), *sets)


@pytest.mark.parametrize("death", ["401", "closed-port"])
def test_a_dead_model_beside_a_healthy_one_is_taken_out_and_the_run_completes(
    tmp_path: Path, death: str
) -> None:
    task = write_task(tmp_path)
    with (
        ScriptedServer(["never"], fault_rate=1.0, fault_kinds=[Fault.UNAUTHORIZED]) as dead,
        ScriptedServer(tweak_constants_responder(seed=3)) as healthy,
    ):
        dead_url = dead.base_url if death == "401" else closed_port_url()
        result = run(
            task,
            tmp_path / "run",
            {"name": "dead", "base_url": dead_url, "weight": 10},  # drawn first, almost surely
            {"name": "healthy", "base_url": healthy.base_url},
        )
        dead_calls = len(dead.requests)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if GOING_ON in line]
    assert len(warnings) == 1 and "(1 of 2 models left: healthy)" in warnings[0]
    assert "model dead at http://127.0.0.1:" in warnings[0]
    with evoforge.load_run(tmp_path / "run") as stored:
        status = stored.status()
    kind = "auth" if death == "401" else "unreachable"
    assert status["evaluated"] == ITERATIONS
    assert 1 <= status["failures_by_kind"][kind] <= IN_FLIGHT  # only the calls in flight when it died
    if death == "401":
        assert 1 <= dead_calls <= IN_FLIGHT  # never asked again


def test_when_the_last_model_dies_the_run_stops_with_its_error_on_one_line(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    with (
        ScriptedServer(["never"], fault_rate=1.0, fault_kinds=[Fault.UNAUTHORIZED]) as first,
        ScriptedServer(["never"], fault_rate=1.0, fault_kinds=[Fault.UNKNOWN_MODEL]) as second,
    ):
        result = run(
            task,
            tmp_path / "run",
            {"name": "a", "base_url": first.base_url},
            {"name": "b", "base_url": second.base_url},
        )
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len([line for line in lines if GOING_ON in line]) == 1
    last = lines[-1]
    assert last.startswith("evoforge: model ") and ("authentication failed (401)" in last or "(404)" in last)
    assert GOING_ON not in last
