"""The staged task folder: only the task's own files, private to the sandbox's slots, and, where no
layer stops a candidate from writing to it, checked after every evaluation."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.layers import plan_sandbox
from evoforge.evaluation.sandbox import Sandbox
from evoforge.evaluation.staging import TAMPERED, Stage

RUNNER = (
    "import runpy\n\n\ndef evaluate(program_path):\n    return runpy.run_path(program_path)['result']()\n"
)
# What macOS or a kernel without Landlock gives a user who is not root and has no bubblewrap.
UNCONFINED = plan_sandbox(SandboxConfig(isolation="process", landlock=False))


def write_task(task: Path) -> Path:
    (task / "runs" / "r1").mkdir(parents=True)
    (task / "runs" / "r1" / "evoforge.db").write_text("secret")
    (task / "data").mkdir()
    (task / "data" / "cases.txt").write_text("1 2 3\n")
    for name in ("evoforge.db", "evoforge.db-wal", "evoforge.db-shm", "run.lock", ".env"):
        (task / name).write_text("secret")
    (task / "helper.py").write_text("X = 1\n")
    (task / "evaluator.py").write_text(RUNNER)
    return task / "evaluator.py"


def staged_names(stage: Stage) -> list[str]:
    return sorted(p.relative_to(stage.evaluator.parent).as_posix() for p in stage.evaluator.parent.rglob("*"))


def test_only_the_tasks_own_files_are_staged_even_with_the_run_inside_it(tmp_path: Path) -> None:
    """``evoforge run . --run-dir .``: the database, its WAL and the run lock sit beside the evaluator."""
    stage = Stage(write_task(tmp_path), "evoforge-test", group=None, watch=False)
    try:
        assert staged_names(stage) == ["data", "data/cases.txt", "evaluator.py", "helper.py", "runs"]
        modes = {p.stat().st_mode & 0o777 for p in (stage.root, *stage.root.rglob("*"))}
        assert modes <= {0o700, 0o600}
    finally:
        stage.remove()
    assert not stage.root.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give the stage to another group")
def test_with_slot_uids_only_the_stage_group_may_read_it(tmp_path: Path) -> None:
    stage = Stage(write_task(tmp_path), "evoforge-test", group=65000, watch=False)
    try:
        entries = [stage.root, *stage.root.rglob("*")]
        assert {(p.stat().st_uid, p.stat().st_gid) for p in entries} == {(0, 65000)}
        assert {p.stat().st_mode & 0o777 for p in entries} == {0o750, 0o640}
    finally:
        stage.remove()


OVERWRITE = (
    "import sys\n\ndef result():\n    path = sys.modules['evaluator'].__file__\n"
    "    open(path, 'a').write('\\nraise SystemExit(0)\\n')\n    return {'score': 1.0}\n"
)
PLAIN = "def result():\n    return {'score': 2.5}\n"


def test_an_unconfined_candidate_that_changes_the_stage_fails_and_the_next_gets_a_fresh_copy(
    tmp_path: Path,
) -> None:
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(RUNNER)
    config = EvaluationConfig(timeout_s=10, memory_mb=1024, parallel=1)
    with Sandbox(evaluator, config, plan=UNCONFINED) as sandbox:
        tampered = asyncio.run(sandbox.evaluate(OVERWRITE))
        after = asyncio.run(sandbox.evaluate(PLAIN))  # the appended SystemExit would fail it
    assert not tampered.ok and tampered.error == TAMPERED
    assert after.ok and after.score == 2.5
    assert evaluator.read_text() == RUNNER


def test_evaluations_that_overlapped_a_change_fail_too(tmp_path: Path) -> None:
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(RUNNER)
    # Returns once the other evaluation has changed the stage, whichever of the two ends first.
    slow = (
        "import sys, time\n\ndef result():\n    path = sys.modules['evaluator'].__file__\n"
        "    while 'SystemExit' not in open(path).read():\n        time.sleep(0.01)\n"
        "    return {'score': 3.0}\n"
    )
    config = EvaluationConfig(timeout_s=10, memory_mb=1024, parallel=2)

    async def both(sandbox: Sandbox) -> list[object]:
        return await asyncio.gather(sandbox.evaluate(slow), sandbox.evaluate(OVERWRITE))

    with Sandbox(evaluator, config, plan=UNCONFINED) as sandbox:
        overlapped, tamperer = asyncio.run(both(sandbox))
    assert tamperer.error == TAMPERED and overlapped.error == TAMPERED  # type: ignore[attr-defined]
