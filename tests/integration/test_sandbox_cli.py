"""The sandbox through the command line: what a candidate leaves on disk costs one failed evaluation,
never the run; a memory limit too low for any evaluation to start stops at once with one line."""

from __future__ import annotations

import itertools
import sys
import threading
from pathlib import Path

import pytest

import evoforge
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

# A tree 3000 levels deep (shutil.rmtree's recursion gives up at about 1000) and a locked directory
# holding a link to /, then a failure of its own.
LITTER = """import os
    here = os.open('.', os.O_RDONLY)
    for _ in range(3000):
        os.mkdir('d', dir_fd=here)
        below = os.open('d', os.O_RDONLY, dir_fd=here)
        os.close(here)
        here = below
    os.close(here)
    os.mkdir('locked')
    os.symlink('/', 'locked/root')
    os.chmod('locked', 0)
    raise RuntimeError('left a deep tree behind')"""


def litter_first() -> object:
    counter = itertools.count()
    lock = threading.Lock()

    def respond(request: dict[str, object]) -> str:
        with lock:
            index = next(counter)
        body = LITTER if index == 0 else f"return {2.0 + index / 10}"
        return f"Trying something.\n```python\ndef solve():\n    {body}\n```\n"

    return respond


def test_a_candidate_littering_its_scratch_directory_costs_one_failed_evaluation(tmp_path: Path) -> None:
    task = write_task(tmp_path, "evaluation:\n  timeout_s: 60\n  parallel: 1\n")
    run_dir = tmp_path / "run"
    with ScriptedServer(litter_first()) as server:
        done = evoforge_cli(
            "run",
            str(task),
            "--run-dir",
            str(run_dir),
            "--iterations",
            "4",
            "--model",
            "scripted",
            "--base-url",
            server.base_url,
            "--set",
            "llm.max_inflight=1",
            timeout=300,
        )
    assert done.returncode == 0, done.stderr
    with evoforge.load_run(run_dir) as run:
        programs = run.programs()
    failed = [p for p in programs if not p.ok]
    assert len(programs) == 4 and len(failed) == 1
    assert "left a deep tree behind" in failed[0].artifacts["error"], failed[0].artifacts  # its own result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="macOS enforces no address-space limit")
@pytest.mark.parametrize("isolation", ["auto", "process"])
@pytest.mark.parametrize("command", ["run", "eval"])
def test_a_memory_limit_too_low_to_start_stops_with_one_line(
    tmp_path: Path, isolation: str, command: str
) -> None:
    """Under a memory cgroup the launcher is killed before it is ready; without one, the limit is below
    the address space every evaluation starts with. Either way: one line, exit 2, at once."""
    config = f"evaluation:\n  memory_mb: 5\nsandbox:\n  isolation: {isolation}\n"
    task = write_task(tmp_path, config)
    program = str(task / "initial_program.py")
    args = ["--run-dir", str(tmp_path / "run"), "--iterations", "3"] if command == "run" else [program]
    done = evoforge_cli(command, str(task), *args)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("evoforge: evaluation.memory_mb: 5 is too low to start the evaluator: "), last
    assert last.endswith("use at least 256 (the default is 2048)") and "Traceback" not in done.stderr
