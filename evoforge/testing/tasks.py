"""Shared pieces of end-to-end tests: a toy task folder and the real command line in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROGRAM = '''"""Toy program: one constant to tune."""

# EVOLVE-BLOCK-START
def solve():
    x = 1.0
    return x
# EVOLVE-BLOCK-END
'''

EVALUATOR = """import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    value = module.solve()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"solve() returned {type(value).__name__}")
    return {"combined_score": -((value - 3.7) ** 2), "value": float(value)}
"""


def write_task(
    root: Path, config: str = "", *, name: str = "toy", program: str = PROGRAM, evaluator: str = EVALUATOR
) -> Path:
    """A task in ``root/name``; by default the toy: one constant whose best value is 3.7."""
    task = root / name
    task.mkdir()
    (task / "initial_program.py").write_text(program)
    (task / "evaluator.py").write_text(evaluator)
    (task / "config.yaml").write_text(config or "evaluation:\n  timeout_s: 20\n  parallel: 2\n")
    return task


def evoforge_command(*args: str) -> list[str]:
    """The argv of the real command line in a fresh interpreter (for tests that start it themselves)."""
    return [sys.executable, "-m", "evoforge.cli", *args]


def evoforge_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a fresh interpreter."""
    return subprocess.run(
        evoforge_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
