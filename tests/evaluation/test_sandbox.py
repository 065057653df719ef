"""The sandbox with real child processes: results, evaluator failures, and hostile candidates.

These tests pin the first layers (rlimits, process-group kill, capped readers, the supervisor) with
``sandbox.isolation: process``, so that they can watch the child from the host (pid files, scratch
paths). Every layer together, against hostile candidates, is tests/test_hostile.py.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.layers import plan_sandbox
from evoforge.evaluation.sandbox import Sandbox
from evoforge.records import Evaluation
from evoforge.testing.processes import alive

# The realistic pattern: the evaluator runs the candidate in its own process and scores what it returns.
RUNNER = """import runpy


def evaluate(program_path):
    return runpy.run_path(program_path)["result"]()
"""
# Without Landlock too: the candidates here write pid files where the test can read them.
PROCESS_ONLY = plan_sandbox(SandboxConfig(isolation="process", landlock=False))
GOOD = "def result():\n    return {'score': 1.0}\n"


MakeSandbox = Callable[..., Sandbox]


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[MakeSandbox]:
    """Sandboxes for ``evaluator`` with these limits, closed when the test ends."""
    made: list[Sandbox] = []

    def make(evaluator: str = RUNNER, score_metric: str | None = None, **limits: object) -> Sandbox:
        path = tmp_path / "evaluator.py"
        path.write_text(evaluator)
        config = EvaluationConfig.model_validate({"timeout_s": 30, "memory_mb": 1024, **limits})
        made.append(Sandbox(path, config, score_metric=score_metric, plan=PROCESS_ONLY))
        return made[-1]

    yield make
    for sandbox in made:
        sandbox.close()


def assert_failed(result: Evaluation, error: str) -> None:
    assert not result.ok and result.score == -math.inf and result.metrics == {}
    assert result.error is not None and error in result.error, result.error
    assert result.artifacts["error"] == result.error


async def test_metrics_captured_output_and_score(make_sandbox: MakeSandbox) -> None:
    code = (
        "import sys\n\ndef result():\n    print('hello')\n    print('warn', file=sys.stderr)\n"
        "    return {'combined_score': 2.5, 'n': 3}\n"
    )
    result = await make_sandbox().evaluate(code)
    assert result.ok and result.error is None
    assert result.score == 2.5 and result.metrics == {"combined_score": 2.5, "n": 3.0}
    assert result.artifacts == {"stdout": "hello\n", "stderr": "warn\n"}
    assert result.duration_s > 0


async def test_evaluation_result_with_artifacts_and_the_mean_without_flags(make_sandbox: MakeSandbox) -> None:
    evaluator = (
        "from evoforge import EvaluationResult\n\n"
        "def evaluate(path):\n"
        "    return EvaluationResult({'a': 1, 'b': 3.0, 'valid': True}, {'hint': 'try more', 'n': 4})\n"
    )
    result = await make_sandbox(evaluator).evaluate("x = 1\n")
    assert result.ok and result.score == 2.0
    assert result.metrics == {"a": 1.0, "b": 3.0, "valid": 1.0}
    assert result.artifacts == {"hint": "try more", "n": "4"}


async def test_score_metric_chooses_the_score(make_sandbox: MakeSandbox) -> None:
    code = "def result():\n    return {'speed': 10, 'size': 2}\n"
    assert (await make_sandbox(score_metric="speed").evaluate(code)).score == 10.0
    assert (await make_sandbox().evaluate(code)).score == 6.0
    missing = await make_sandbox(score_metric="accuracy").evaluate(code)
    assert_failed(missing, "invalid result: score_metric 'accuracy' is not among the metrics")


async def test_evaluator_with_sibling_modules_dataclasses_and_a_process_pool(
    tmp_path: Path, make_sandbox: MakeSandbox
) -> None:
    (tmp_path / "helpers.py").write_text("def square(x):\n    return x * x\n")
    evaluator = (
        "from __future__ import annotations\n\n"
        "import dataclasses\nimport multiprocessing\n\nfrom helpers import square\n\n\n"
        "@dataclasses.dataclass\nclass Case:\n    x: int\n\n\n"
        "def twice(case):\n    return 2 * square(case.x)\n\n\n"
        "def evaluate(path):\n"
        "    with multiprocessing.Pool(2) as pool:\n"
        "        return {'total': sum(pool.map(twice, [Case(1), Case(2)]))}\n"
    )
    result = await make_sandbox(evaluator).evaluate("x = 1\n")
    assert result.ok and result.metrics == {"total": 10.0}, result.error


@pytest.mark.parametrize(
    ("evaluator", "error"),
    [
        (
            "def evaluate(path):\n    raise ValueError('bad shape')\n",
            "evaluator raised ValueError: bad shape",
        ),
        ("def evaluate(path):\n    return 7\n", "invalid result: evaluate() returned int, expected a dict"),
        ("def evaluate(path):\n    return {'x': float('nan')}\n", "invalid result: metric 'x' is NaN"),
        (
            "def evaluate(path):\n    return {'x': 'abc'}\n",
            "invalid result: metric 'x' is not a number: 'abc'",
        ),
        ("def other(path):\n    return {}\n", "defines no evaluate(program_path) function"),
        ("import no_such_module\n", "the evaluator failed to import: ModuleNotFoundError: No module named"),
        ("def evaluate(path):\n    return evaluate(path)\n", "evaluator raised RecursionError"),
        ("import sys\n\ndef evaluate(path):\n    sys.exit(3)\n", "evaluator raised SystemExit: 3"),
    ],
)
async def test_evaluator_failures_are_failed_evaluations(
    make_sandbox: MakeSandbox, evaluator: str, error: str
) -> None:
    assert_failed(await make_sandbox(evaluator).evaluate("x = 1\n"), error)


async def test_an_exception_comes_with_its_traceback(make_sandbox: MakeSandbox) -> None:
    code = "def result():\n    return helper()\n\ndef helper():\n    raise KeyError('radius')\n"
    result = await make_sandbox().evaluate(code)
    assert_failed(result, "evaluator raised KeyError: 'radius'")
    assert "in helper" in result.artifacts["traceback"]


HOSTILE = {
    "os._exit": (
        "import os\n\ndef result():\n    os._exit(0)\n",
        {},
        "exited with code 0 before returning a result",
    ),
    "infinite loop": (
        "def result():\n    while True:\n        pass\n",
        {"timeout_s": 2, "cpu_s": 60},  # the wall clock, not the CPU limit, must stop it
        "timeout after 2 s",
    ),
    "cpu limit": (
        "def result():\n    while True:\n        pass\n",
        {"cpu_s": 1},
        "CPU time limit exceeded (1 s)",
    ),
    "memory bomb": (
        "def result():\n    return {'n': len(bytearray(10 * 1024**3))}\n",
        {"memory_mb": 512},
        "evaluator raised MemoryError",
    ),
    "result pipe closed": (
        "import os\n\ndef result():\n    os.closerange(3, 256)\n    return {'n': 1}\n",
        {},
        "exited with code 1 before returning a result",
    ),
    "killed itself": (
        "import os, signal\n\ndef result():\n    os.kill(os.getpid(), signal.SIGKILL)\n",
        {},
        "killed by signal SIGKILL (memory or CPU limit?)",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
async def test_a_hostile_candidate_costs_one_failed_evaluation(make_sandbox: MakeSandbox, case: str) -> None:
    code, limits, error = HOSTILE[case]
    box = make_sandbox(**limits)
    assert_failed(await box.evaluate(code), error)
    assert (await box.evaluate(GOOD)).ok


async def test_an_output_flood_is_cut_at_the_cap(make_sandbox: MakeSandbox) -> None:
    code = "import sys\n\ndef result():\n    sys.stdout.write('x' * 100_000_000)\n    return {'n': 1}\n"
    box = make_sandbox(max_output_bytes=10_000)
    result = await box.evaluate(code)
    assert_failed(result, "output limit exceeded: more than 10000 bytes on stdout")
    kept, note = result.artifacts["stdout"].rsplit("\n", 1)
    assert kept == "x" * 10_000 and note.startswith("[truncated ")
    assert (await box.evaluate(GOOD)).ok


async def test_background_grandchildren_are_killed(tmp_path: Path, make_sandbox: MakeSandbox) -> None:
    pid_file = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys\n\ndef result():\n"
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"    open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "    return {'score': 1}\n"
    )
    assert (await make_sandbox().evaluate(code)).ok
    assert await _gone(int(pid_file.read_text()))


@pytest.mark.skipif(not PROCESS_ONLY.active("L1 supervisor"), reason="the supervisor needs Linux")
async def test_the_supervisor_kills_a_setsid_daemon(tmp_path: Path, make_sandbox: MakeSandbox) -> None:
    """A double-forked daemon in its own session escapes killpg; the subreaper still gets it."""
    pid_file = tmp_path / "daemon.pid"
    code = (
        "import os, time\n\ndef result():\n    if os.fork() == 0:\n        os.setsid()\n"
        "        if os.fork() == 0:\n"
        f"            open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "            time.sleep(600)\n        os._exit(0)\n"
        "    while not os.path.exists("
        f"{str(pid_file)!r}) or not open({str(pid_file)!r}).read():\n"
        "        time.sleep(0.01)\n    return {'score': 1}\n"
    )
    assert (await make_sandbox().evaluate(code)).ok
    assert await _gone(int(pid_file.read_text()))


async def test_a_forked_process_holding_the_pipes_does_not_stall_the_result(
    make_sandbox: MakeSandbox,
) -> None:
    code = (
        "import os, time\n\ndef result():\n"
        "    if os.fork() == 0:\n        time.sleep(600)\n        os._exit(0)\n"
        "    return {'score': 1}\n"
    )
    result = await make_sandbox(timeout_s=60).evaluate(code)
    assert result.ok, result.error


async def test_the_environment_is_allow_listed(
    make_sandbox: MakeSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_SECRET", "hunter2")
    code = (
        "import os\n\ndef result():\n"
        "    leaked = 'EVOFORGE_TEST_SECRET' in os.environ or 'hunter2' in str(os.environ)\n"
        "    return {'leaked': float(leaked), 'home_is_cwd': float(os.environ['HOME'] == os.getcwd())}\n"
    )
    result = await make_sandbox().evaluate(code)
    assert result.ok and result.metrics == {"leaked": 0.0, "home_is_cwd": 1.0}


async def test_every_evaluation_starts_in_an_empty_scratch_directory(tmp_path: Path) -> None:
    """Slots keep their directory; the launcher empties it after each evaluation, the sandbox removes it."""
    root = tmp_path / "scratch"
    root.mkdir()
    (tmp_path / "evaluator.py").write_text("import random\n" + RUNNER)  # preloaded by the launcher
    box = Sandbox(
        tmp_path / "evaluator.py",
        EvaluationConfig(timeout_s=30, parallel=2),
        plan=PROCESS_ONLY,
        scratch_root=root,
    )
    code = (
        "import os, random\n\ndef result():\n"
        "    seen = len(os.listdir('.'))\n"
        "    os.mkdir('locked')\n"
        "    open('locked/junk.bin', 'wb').write(b'x' * 1000)\n"
        "    os.chmod('locked', 0)\n"
        "    return {'seen': seen, 'draw': random.random()}\n"
    )
    results = []
    for _ in range(3):  # each slot serves several evaluations in turn
        results += await asyncio.gather(box.evaluate(code, "solution.py"), box.evaluate(code, "solution.py"))
    assert [r.metrics["seen"] for r in results] == [1.0] * 6  # only its own program file
    assert len({r.metrics["draw"] for r in results}) == 6  # forks do not share a random seed
    assert len(os.listdir(root)) == 2 and all(not os.listdir(root / slot) for slot in os.listdir(root))
    box.close()
    assert os.listdir(root) == []


async def test_parallel_evaluations(make_sandbox: MakeSandbox) -> None:
    box = make_sandbox()
    codes = [f"def result():\n    return {{'score': {i}}}\n" for i in range(4)]
    results = await asyncio.gather(*(box.evaluate(code) for code in codes))
    assert [r.score for r in results] == [0.0, 1.0, 2.0, 3.0]


async def test_cancellation_kills_the_child(tmp_path: Path, make_sandbox: MakeSandbox) -> None:
    pid_file = tmp_path / "child.pid"
    code = (
        "import os, time\n\ndef result():\n"
        f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(600)\n"
    )
    task = asyncio.create_task(make_sandbox(timeout_s=600).evaluate(code))
    while not pid_file.exists() or not pid_file.read_text():
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _gone(int(pid_file.read_text()))


async def _gone(pid: int) -> bool:
    """Whether ``pid`` ends (or becomes a zombie) within a few seconds."""
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return not alive(pid)
