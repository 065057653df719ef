"""The sandbox with real child processes: results, failures, and hostile candidates.

Hostile cases here are contained by this layer (rlimits, process-group kill, capped readers);
cases that need stronger layers (kill(-1), fork bombs, setsid daemons) belong to a later layer.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from evoforge.config import EvaluationConfig
from evoforge.evaluation.sandbox import Sandbox

RUNNER = """import runpy


def evaluate(program_path):
    namespace = runpy.run_path(program_path)
    return namespace["result"]()
"""


def sandbox(tmp_path: Path, evaluator: str = RUNNER, **limits: object) -> Sandbox:
    path = tmp_path / "evaluator.py"
    path.write_text(evaluator)
    config = EvaluationConfig(**{"timeout_s": 10, "memory_mb": 1024, **limits})  # type: ignore[arg-type]
    return Sandbox(path, config)


def evaluate(box: Sandbox, code: str) -> object:
    return asyncio.run(box.evaluate(code))


def test_metrics_artifacts_and_score(tmp_path: Path) -> None:
    box = sandbox(tmp_path)
    result = evaluate(box, "def result():\n    print('hello')\n    return {'combined_score': 2.5, 'n': 3}\n")
    assert result.ok and result.score == 2.5
    assert result.metrics == {"combined_score": 2.5, "n": 3.0}
    assert result.artifacts["stdout"].strip() == "hello"
    assert result.duration_s > 0


def test_evaluation_result_with_artifacts_and_mean_score(tmp_path: Path) -> None:
    evaluator = (
        "from evoforge import EvaluationResult\n\n"
        "def evaluate(path):\n    return EvaluationResult({'a': 1.0, 'b': 3.0}, {'hint': 'try more'})\n"
    )
    result = evaluate(sandbox(tmp_path, evaluator), "x = 1\n")
    assert result.ok and result.score == 2.0 and result.artifacts["hint"] == "try more"


@pytest.mark.parametrize(
    ("evaluator", "error"),
    [
        (
            "def evaluate(path):\n    raise ValueError('bad shape')\n",
            "evaluator raised ValueError: bad shape",
        ),
        ("def evaluate(path):\n    return 7\n", "evaluate() returned int"),
        ("def evaluate(path):\n    return {'a': float('nan')}\n", "metric 'a' is NaN"),
        ("def other(path):\n    return {}\n", "defines no evaluate"),
        ("import no_such_module\n", "failed to import: ModuleNotFoundError"),
    ],
)
def test_evaluator_failures_are_failed_evaluations(tmp_path: Path, evaluator: str, error: str) -> None:
    result = evaluate(sandbox(tmp_path, evaluator), "x = 1\n")
    assert not result.ok and result.score == float("-inf")
    assert error in result.error
    assert result.artifacts["error"] == result.error


def test_os_exit_during_evaluation(tmp_path: Path) -> None:
    result = evaluate(sandbox(tmp_path), "import os\n\ndef result():\n    os._exit(0)\n")
    assert not result.ok and "exited with code 0 before returning a result" in result.error


def test_infinite_loop_times_out_and_the_next_evaluation_works(tmp_path: Path) -> None:
    box = sandbox(tmp_path, timeout_s=1.5)
    started = time.monotonic()
    result = evaluate(box, "def result():\n    while True:\n        pass\n")
    assert not result.ok and "timeout after 1.5 s" in result.error
    assert time.monotonic() - started < 10
    assert evaluate(box, "def result():\n    return {'score': 1}\n").ok


def test_memory_bomb_fails_without_harm(tmp_path: Path) -> None:
    code = "def result():\n    blob = bytearray(10 * 1024**3)\n    return {'n': len(blob)}\n"
    result = evaluate(sandbox(tmp_path, memory_mb=512), code)
    assert not result.ok and "MemoryError" in result.error


def test_output_flood_is_cut_at_the_cap(tmp_path: Path) -> None:
    code = "import sys\n\ndef result():\n    sys.stdout.write('x' * 100_000_000)\n    return {'n': 1}\n"
    started = time.monotonic()
    result = evaluate(sandbox(tmp_path, max_output_bytes=10_000), code)
    assert not result.ok and "output limit exceeded" in result.error
    assert len(result.artifacts["stdout"]) < 11_000
    assert time.monotonic() - started < 10


def test_background_grandchild_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys\n\n"
        "def result():\n"
        f"    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"    open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "    return {'score': 1}\n"
    )
    result = evaluate(sandbox(tmp_path), code)
    assert result.ok
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_environment_has_no_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_SECRET", "hunter2")
    code = "import os\n\ndef result():\n    return {'leaked': float('EVOFORGE_TEST_SECRET' in os.environ)}\n"
    result = evaluate(sandbox(tmp_path), code)
    assert result.ok and result.metrics["leaked"] == 0.0


def test_scratch_directory_is_private_and_removed(tmp_path: Path) -> None:
    code = (
        "import os\n\ndef result():\n    open('junk.bin', 'wb').write(b'x' * 1000)\n    return {'cwd': 1.0}\n"
    )
    root = tmp_path / "scratch"
    root.mkdir()
    box = Sandbox((tmp_path / "e.py"), EvaluationConfig(timeout_s=10), scratch_root=root)
    (tmp_path / "e.py").write_text(RUNNER)
    assert asyncio.run(box.evaluate(code)).ok
    assert os.listdir(root) == []


def test_parallel_evaluations(tmp_path: Path) -> None:
    box = sandbox(tmp_path)

    async def four() -> list[object]:
        codes = [f"def result():\n    return {{'score': {i}}}\n" for i in range(4)]
        return await asyncio.gather(*(box.evaluate(code) for code in codes))

    results = asyncio.run(four())
    assert [r.score for r in results] == [0.0, 1.0, 2.0, 3.0]


def test_cancellation_kills_the_child(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    code = (
        "import os, time\n\n"
        "def result():\n"
        f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(600)\n"
    )
    box = sandbox(tmp_path, timeout_s=600)

    async def cancel_midway() -> None:
        task = asyncio.create_task(box.evaluate(code))
        while not pid_file.exists():
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)
