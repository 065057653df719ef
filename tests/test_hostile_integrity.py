"""Hostile candidates against what decides their score: the result they report, the evaluator and its
files, the slot's warm launcher. In every layer combination this machine offers (``layer_plan``),
like tests/test_hostile.py."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from evoforge.evaluation.layers import SandboxPlan
from evoforge.evaluation.sandbox import Sandbox
from evoforge.evaluation.staging import TAMPERED
from evoforge.testing.hostile import (
    DAEMON,
    PLAIN,
    RUNNER,
    candidates_are_root,
    evaluate,
    evaluate_in_turn,
    failed,
    signals_scoped,
)

pytestmark = pytest.mark.usefixtures("untouched")
CIRCLES = Path(__file__).parents[1] / "examples" / "circle_packing_26" / "evaluator.py"
REFUSED = "PermissionError"  # Landlock's signal scope: the launcher is outside the evaluation


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("float('nan')", "NaN"),
        ("float('inf')", "inf"),
        ("10**400", "metric"),
        ("complex(1, 2)", "metric"),
        ("'1.0'", "metric"),
    ],
    ids=["nan", "inf", "huge", "complex", "string"],
)
def test_bad_metrics(layer_plan: SandboxPlan, tmp_path: Path, value: str, error: str) -> None:
    result = evaluate(layer_plan, tmp_path, f"def result():\n    return {{'combined_score': {value}}}\n")
    assert failed(result, error, "invalid result")


SOLVE_GRID = """
def solve():
    return [[(c + 0.5) / 6, (r + 0.5) / 5, 0.08] for r in range(5) for c in range(6)][:26]
"""


CHEATS = {
    "redefine_the_scoring_function": (
        "import sys\nfor module in list(sys.modules.values()):\n"
        "    if hasattr(module, 'score_packing'):\n        module.score_packing = lambda obj: 1e9\n"
    ),
    "mutate_sys_modules_of_the_evaluator": (
        "import sys, types\nfake = types.ModuleType('math')\nfake.fsum = lambda values: 1e9\n"
        "fake.hypot = lambda *a: 10.0\nsys.modules['math'] = fake\n"
    ),
    "forge_the_result_pipe": (
        'import os\nforged = b\'{"ok": true, "metrics": {"combined_score": 1e9}}\'\n'
        "for fd in range(3, 64):\n    try:\n        os.write(fd, forged)\n    except OSError:\n        pass\n"
    ),
}


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_a_cheating_candidate_gets_its_honest_score(
    layer_plan: SandboxPlan, tmp_path: Path, cheat: str
) -> None:
    result = evaluate(layer_plan, tmp_path, CHEATS[cheat] + SOLVE_GRID, CIRCLES)
    assert result.score == pytest.approx(26 * 0.08)


def test_return_a_claimed_score_instead_of_the_object(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = "def solve():\n    return 2.6359830849\n"
    result = evaluate(layer_plan, tmp_path, code, CIRCLES)
    assert result.score == -math.inf and "expected a list" in result.artifacts["infeasible"]


def overwrite(path: str) -> str:
    """A candidate that appends to ``path`` (an expression), saying whether it could."""
    return (
        "import sys\n\ndef result():\n    try:\n"
        f"        open({path}, 'a').write('\\nraise SystemExit(0)\\n')\n"
        "        return {'overwrote': 1}\n    except OSError:\n        return {'overwrote': 0}\n"
    )


def test_overwrite_the_staged_evaluator(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    """The evaluator it was loaded from: refused where writes are confined or the copy is root's;
    elsewhere the change fails this evaluation and the next one gets a fresh copy."""
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(RUNNER)
    first, second = evaluate_in_turn(
        layer_plan, tmp_path, overwrite("sys.modules['evaluator'].__file__"), PLAIN
    )
    if layer_plan.watch_stage:
        assert first.error == TAMPERED
    else:
        assert first.ok and first.metrics == {"overwrote": 0.0}
    assert second.score == 2.5 and evaluator.read_text() == RUNNER


def test_overwrite_the_task_folder(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    """The real evaluator, at a path the candidate was told: the evaluations never need it."""
    if not {"writes_confined", "separate_uid"} & layer_plan.properties:
        pytest.skip("the candidate runs as the task folder's owner and nothing confines its writes")
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(RUNNER)
    result = evaluate(layer_plan, tmp_path, overwrite(repr(str(evaluator))), evaluator)
    assert evaluator.read_text() == RUNNER and result.metrics == {"overwrote": 0.0}


# Against the slot's warm launcher: whatever an evaluation does to it, the next one runs clean.


def test_kill_the_launcher(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = "import os, signal\n\ndef result():\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    first, second = evaluate_in_turn(layer_plan, tmp_path, code, PLAIN)
    assert failed(first, REFUSED if signals_scoped(layer_plan) else "launcher") and second.score == 2.5


def test_stop_the_launcher(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = "import os, signal\n\ndef result():\n    os.kill(os.getppid(), signal.SIGSTOP)\n"
    first, second = evaluate_in_turn(layer_plan, tmp_path, code, PLAIN, timeout_s=1)
    assert failed(first, REFUSED if signals_scoped(layer_plan) else "timeout") and second.score == 2.5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and prctl are Linux's")
def test_read_the_launchers_memory_or_descriptors(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = (
        "import os\n\ndef result():\n    opened = 0\n"
        "    for name in ('mem', 'environ', 'fd/4'):\n        try:\n"
        "            open(f'/proc/{os.getppid()}/{name}', 'rb').close()\n            opened += 1\n"
        "        except OSError:\n            pass\n"
        "    return {'opened': opened, 'fds': len(os.listdir('/proc/self/fd'))}\n"
    )
    [result] = evaluate_in_turn(layer_plan, tmp_path, code)
    assert result.metrics["fds"] == 5.0  # 0-3 and the listing's own
    if not candidates_are_root(layer_plan):  # a root candidate may ptrace anything
        assert result.metrics["opened"] == 0.0


def test_what_an_evaluation_leaves_is_gone_before_the_next(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = (
        DAEMON + "import os\n\ndef result():\n    seen = sorted(os.listdir('.'))\n"
        "    open('left.txt', 'w').write('x')\n    daemonize()\n"
        "    return {'seen': len(seen)}\n"
    )
    results = evaluate_in_turn(layer_plan, tmp_path, code, code, code)
    assert [r.metrics for r in results] == [{"seen": 1.0}] * 3  # its program file only


def test_the_controller_keeps_working_after_every_case(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    """Placed last: a plain evaluation still works and this interpreter is intact."""
    assert evaluate(layer_plan, tmp_path, PLAIN).score == 2.5
    assert sys.modules["evoforge.evaluation.sandbox"].Sandbox is Sandbox
