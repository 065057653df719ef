"""The evaluation cascade in the real sandbox: stages gated by thresholds, per-stage timeouts, and what
a stopped cascade records; then a run whose ``status`` counts the rejections and the time saved."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.layers import plan_sandbox
from evoforge.evaluation.sandbox import Sandbox
from evoforge.evaluation.stages import answer_extras, cascade_summary
from evoforge.testing.tasks import evoforge_cli, write_task

# No Landlock: the stages leave markers in the test's directory, outside the scratch directory.
PROCESS_ONLY = plan_sandbox(SandboxConfig(isolation="process", landlock=False))

# Each stage writes a marker, then scores the program's VALUE: stage 1 as is, stage 2 and 3 ten times
# less (so that the merged combined_score is the last stage's); STAGE2 decides what stage 2 does.
STAGED = """import pathlib, runpy, time

MARKERS = pathlib.Path({markers!r})


def value(program_path):
    return runpy.run_path(program_path)["VALUE"]


def evaluate_stage1(program_path):
    (MARKERS / "stage1").touch()
    return {{"combined_score": value(program_path), "cheap": 1.0}}


def evaluate_stage2(program_path):
    (MARKERS / "stage2").touch()
    {stage2}
    return {{"combined_score": value(program_path) / 10, "costly": 2.0}}


def evaluate_stage3(program_path):
    (MARKERS / "stage3").touch()
    return {{"combined_score": value(program_path) / 100}}


def evaluate(program_path):
    (MARKERS / "evaluate").touch()
    return {{"combined_score": -1.0}}
"""

MakeSandbox = Callable[..., Sandbox]


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    folder = tmp_path / "markers"
    folder.mkdir()
    return folder


@pytest.fixture
def make_sandbox(tmp_path: Path, markers: Path) -> Iterator[MakeSandbox]:
    made: list[Sandbox] = []

    def make(cascade: dict[str, object] | None, stage2: str = "pass", timeout_s: float = 30) -> Sandbox:
        path = tmp_path / "evaluator.py"
        path.write_text(STAGED.format(markers=str(markers), stage2=stage2))
        limits = {"timeout_s": timeout_s, "memory_mb": 1024, "parallel": 1, "cascade": cascade}
        made.append(Sandbox(path, EvaluationConfig.model_validate(limits), plan=PROCESS_ONLY))
        return made[-1]

    yield make
    for sandbox in made:
        sandbox.close()


def ran(markers: Path) -> set[str]:
    found = {marker.name for marker in markers.iterdir()}
    for marker in markers.iterdir():
        marker.unlink()
    return found


async def test_a_child_rejected_at_stage_1_never_runs_stage_2(
    make_sandbox: MakeSandbox, markers: Path
) -> None:
    sandbox = make_sandbox({"thresholds": [0.5, 0.8]})
    rejected = await sandbox.evaluate("VALUE = 0.3\n")
    assert ran(markers) == {"stage1"}
    assert rejected.ok and rejected.score == 0.3 and rejected.metrics == {"combined_score": 0.3, "cheap": 1.0}
    assert rejected.stages_passed == 0 and len(rejected.stage_times_s) == 1

    passed_one = await sandbox.evaluate("VALUE = 5.0\n")  # stage 2 scores 0.5 < 0.8: no stage 3
    assert ran(markers) == {"stage1", "stage2"}
    assert passed_one.score == 0.5 and passed_one.metrics == {
        "combined_score": 0.5,
        "cheap": 1.0,
        "costly": 2.0,
    }
    assert passed_one.stages_passed == 1 and len(passed_one.stage_times_s) == 2

    passed_all = await sandbox.evaluate("VALUE = 100.0\n")
    assert ran(markers) == {"stage1", "stage2", "stage3"}
    assert passed_all.score == 1.0 and passed_all.stages_passed == 3 and len(passed_all.stage_times_s) == 3


async def test_without_a_cascade_only_evaluate_runs(make_sandbox: MakeSandbox, markers: Path) -> None:
    result = await make_sandbox(None).evaluate("VALUE = 0.3\n")
    assert ran(markers) == {"evaluate"} and result.score == -1.0 and result.stages_passed is None


async def test_a_stage_that_raises_fails_the_evaluation(make_sandbox: MakeSandbox, markers: Path) -> None:
    sandbox = make_sandbox({"thresholds": [0.5]}, stage2="raise RuntimeError('stage two broke')")
    result = await sandbox.evaluate("VALUE = 5.0\n")
    assert ran(markers) == {"stage1", "stage2"}
    assert not result.ok and result.score == -math.inf
    assert result.error == "evaluate_stage2 raised RuntimeError: stage two broke"
    assert "stage two broke" in result.artifacts["traceback"]
    assert result.stages_passed == 1 and len(result.stage_times_s) == 2


async def test_a_stage_past_its_timeout_fails_even_if_it_catches_the_alarm(
    make_sandbox: MakeSandbox, markers: Path
) -> None:
    swallow = "try:\n        time.sleep(5)\n    except BaseException:\n        time.sleep(1)"
    sandbox = make_sandbox({"thresholds": [0.5], "timeouts_s": [10, 0.3]}, stage2=swallow)
    result = await sandbox.evaluate("VALUE = 5.0\n")
    assert not result.ok and result.error == "evaluate_stage2 timed out after 0.3 s"
    assert result.stages_passed == 1 and result.stage_times_s[1] >= 0.3


async def test_a_stage_that_hangs_is_stopped_at_its_own_timeout(
    make_sandbox: MakeSandbox, markers: Path
) -> None:
    """The stage's alarm ends it, not the whole evaluation's wall-clock limit (which would say so)."""
    sandbox = make_sandbox(
        {"thresholds": [0.5], "timeouts_s": [10, 0.5]}, stage2="time.sleep(600)", timeout_s=20
    )
    result = await sandbox.evaluate("VALUE = 5.0\n")
    assert result.error == "evaluate_stage2 timed out after 0.5 s" and result.stages_passed == 1


async def test_without_stage_1_the_cascade_is_evaluate_alone(tmp_path: Path) -> None:
    """As OpenEvolve does (its configs turn the cascade on by default): no stages, evaluate() decides."""
    path = tmp_path / "evaluator.py"
    path.write_text("def evaluate(program_path):\n    return {'combined_score': 1.0}\n")
    config = EvaluationConfig(timeout_s=30, memory_mb=1024, parallel=1, cascade={"thresholds": [0.5]})
    with Sandbox(path, config, plan=PROCESS_ONLY) as sandbox:
        result = await sandbox.evaluate("VALUE = 1\n")
    assert result.ok and result.metrics == {"combined_score": 1.0} and result.stages_passed is None


async def test_search_mode_takes_the_last_stages_solution(tmp_path: Path) -> None:
    path = tmp_path / "evaluator.py"
    path.write_text(
        "from evoforge.records import EvaluationResult\n\n"
        "def evaluate_stage1(program_path):\n"
        "    return EvaluationResult({'combined_score': 1.0}, solution=[1])\n\n"
        "def evaluate_stage2(program_path):\n"
        "    return EvaluationResult({'combined_score': 2.0}, solution=[1, 2])\n\n"
        "def evaluate_stage3(program_path):\n"
        "    return {'combined_score': 3.0}\n"
    )
    config = EvaluationConfig(timeout_s=30, memory_mb=1024, parallel=1, cascade={"thresholds": [0.5, 0.5]})
    with Sandbox(path, config, plan=PROCESS_ONLY) as sandbox:
        result = await sandbox.evaluate("VALUE = 1\n")
    assert result.score == 3.0 and result.stages_passed == 3 and result.solution == "[1,2]"


PROGRAM = """# EVOLVE-BLOCK-START
VALUE = 5.0
# EVOLVE-BLOCK-END
"""


def test_status_counts_rejections_by_stage_and_the_time_saved(tmp_path: Path, markers: Path) -> None:
    """A run of the offline mutators on a staged evaluator: `status --json` counts what each stage
    rejected, matching the markers of the stages that ran, and estimates the time saved."""
    evaluator = STAGED.format(markers=str(markers), stage2="pass")
    config = (
        "evaluation:\n  timeout_s: 20\n  parallel: 2\n  cascade: {thresholds: [4.0, 0.8]}\n"
        "sandbox: {isolation: process, landlock: false}\nseed: 3\n"
    )
    task = write_task(tmp_path, config, program=PROGRAM, evaluator=evaluator)
    run = evoforge_cli("run", str(task), "--iterations", "12", "--run-dir", str(tmp_path / "run"))
    assert run.returncode == 0, run.stderr
    status = evoforge_cli("status", str(tmp_path / "run"), "--json")
    info = json.loads(status.stdout)
    cascade = info["cascade"]
    assert cascade["evaluated"] == info["evaluated"]
    rejected = cascade["rejected_by_stage"]
    assert rejected["stage1"] + rejected["stage2"] + rejected["stage3"] > 0
    assert cascade["time_saved_s"] > 0
    assert (markers / "stage1").exists() and (markers / "stage2").exists()
    text = evoforge_cli("status", str(tmp_path / "run")).stdout
    assert f"cascade: rejected by stage1 {rejected['stage1']}, stage2 {rejected['stage2']}" in text


def test_the_time_saved_is_the_mean_time_of_the_stages_skipped() -> None:
    records = [(3, [1.0, 4.0, 10.0]), (1, [1.0, 6.0]), (0, [2.0]), (2, [1.0, 5.0, 20.0])]
    # stage 2 took 5 s on average, stage 3 15 s: the child stopped at stage 1 saved 5 + 15, the one
    # stopped at stage 2 saved 15; the last one failed at stage 3, with nothing left to skip.
    summary = cascade_summary(records)
    assert summary["rejected_by_stage"] == {"stage1": 1, "stage2": 1, "stage3": 1}
    assert summary["time_saved_s"] == pytest.approx(35.0)
    assert summary["mean_stage_time_s"] == pytest.approx({"stage1": 1.25, "stage2": 5.0, "stage3": 15.0})


@pytest.mark.parametrize(
    "cascade",
    [{"passed": 2, "times_s": [1.0]}, {"passed": True, "times_s": [1.0]}, {"passed": 0, "times_s": [-1.0]},
     {"passed": 0, "times_s": [1.0] * 4}, {"passed": 0, "times_s": "1"}, "all of them"],
)  # fmt: skip
def test_a_malformed_cascade_report_is_not_stored(cascade: object) -> None:
    """The answer is written next to the candidate, which may forge it: what cannot be true is dropped."""
    assert answer_extras({"ok": True, "cascade": cascade}) == {}
    assert answer_extras({"ok": True, "cascade": {"passed": 1, "times_s": [0.5, 2]}}) == {
        "stages_passed": 1,
        "stage_times_s": (0.5, 2.0),
    }


def test_more_thresholds_than_gates_is_a_config_error(tmp_path: Path) -> None:
    task = write_task(tmp_path, "evaluation:\n  cascade: {thresholds: [0.5, 0.75, 0.9]}\n")
    result = evoforge_cli("run", str(task), "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "evaluation.cascade.thresholds" in result.stderr
