"""Running hostile candidates through the real sandbox, for the hostile suites (tests/test_hostile*.py).

Each case runs a real program through ``Sandbox`` exactly as a run does, from the test process playing
the controller, under one layer combination (``evoforge.testing.layers``).
"""

from __future__ import annotations

import asyncio
import errno
import math
import os
import subprocess
import time
import uuid
from pathlib import Path

from evoforge.config import EvaluationConfig
from evoforge.evaluation import landlock
from evoforge.evaluation.layers import SandboxPlan
from evoforge.evaluation.sandbox import Sandbox
from evoforge.records import Evaluation
from evoforge.testing.processes import alive

# The in-process pattern: the candidate runs inside the evaluator's interpreter.
RUNNER = """import runpy


def evaluate(program_path):
    return runpy.run_path(program_path)["result"]()
"""
CONFIG = EvaluationConfig(timeout_s=8, memory_mb=1024, max_output_bytes=1_000_000, max_file_mb=64, parallel=2)
MARKER = f"evoforge-daemon-{uuid.uuid4().hex}"  # in the command line of every process a case starts
PLAIN = "def result():\n    return {'score': 2.5}\n"
# A candidate's helper: a grandchild in a session of its own, as a daemon starts (marked for the checks).
DAEMON = (
    "import os\n\ndef daemonize():\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n"
    f"            os.execv('/bin/sleep', ['sleep', '600', {MARKER!r}])\n        os._exit(0)\n"
)


def processes_with(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if text.encode() in cmdline.read() and alive(int(entry)):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def evaluate(
    plan: SandboxPlan, tmp_path: Path, code: str, evaluator: str | Path = RUNNER, **limits: object
) -> Evaluation:
    """One evaluation in a fresh sandbox; waits for the case's marked processes to be gone."""
    if isinstance(evaluator, Path):
        path = evaluator
    else:
        path = tmp_path / "evaluator.py"
        path.write_text(evaluator)
    config = CONFIG.model_copy(update=limits)
    with Sandbox(path, config, plan=plan) as sandbox:
        result = asyncio.run(sandbox.evaluate(code))
    deadline = time.monotonic() + 5
    while processes_with(MARKER) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def evaluate_in_turn(plan: SandboxPlan, tmp_path: Path, *codes: str, **limits: object) -> list[Evaluation]:
    """Evaluate ``codes`` one after another in a single slot, so they share its launcher."""
    path = tmp_path / "evaluator.py"
    path.write_text(RUNNER)
    config = CONFIG.model_copy(update={"parallel": 1, **limits})
    with Sandbox(path, config, plan=plan) as sandbox:
        return [asyncio.run(sandbox.evaluate(code)) for code in codes]


def failed(result: Evaluation, *fragments: str) -> bool:
    return not result.ok and result.score == -math.inf and any(f in (result.error or "") for f in fragments)


def candidates_are_root(plan: SandboxPlan) -> bool:
    """Whether candidates run as root: evoforge is root and gives them no uid of their own."""
    return os.geteuid() == 0 and plan.uid_base is None


def signals_scoped(plan: SandboxPlan) -> bool:
    """Whether Landlock refuses an evaluation's signals to any process outside it (its launcher too)."""
    return plan.landlock is not None and plan.landlock >= landlock.SCOPE_ABI


def check_signals_contained(plan: SandboxPlan, tmp_path: Path, bystander: subprocess.Popen[bytes]) -> None:
    """Before a case signals everything: a harmless probe (signal 0) must fail to reach ``bystander``,
    a process of this user, or the case would end every process it can (as root: the machine's)."""
    code = (
        "import os\n\ndef result():\n    try:\n"
        f"        os.kill({bystander.pid}, 0)\n    except OSError as error:\n"
        "        return {'errno': error.errno}\n    return {'errno': 0}\n"
    )
    probe = evaluate(plan, tmp_path, code)
    reached = probe.ok and probe.metrics["errno"] not in (errno.EPERM, errno.ESRCH)
    if reached or not probe.ok:
        raise AssertionError(f"a candidate reaches processes outside its sandbox: {probe}")
