"""``evoforge run . --run-dir .``: the run lives in the task folder, and no evaluation can read it.

The evaluator looks for every ``evoforge.db*`` file it might read: beside itself (the staged copy of
the task folder), in every staged folder under the temporary directory (other sandboxes', other
runs'), and in the real task folder, and reports how many it could open.
"""

from __future__ import annotations

from pathlib import Path

import evoforge
from evoforge.config import SandboxConfig
from evoforge.evaluation.layers import plan_sandbox
from evoforge.testing.tasks import evoforge_cli, write_task

EVALUATOR = """import glob
import os
import tempfile


def readable(pattern):
    found = 0
    for path in glob.glob(pattern, recursive=True):
        try:
            with open(path, "rb") as database:
                database.read(16)
            found += 1
        except OSError:
            pass
    return found


def evaluate(program_path):
    namespace = {{}}
    exec(open(program_path).read(), namespace)
    here = os.path.dirname(os.path.abspath(__file__))
    staged = readable(os.path.join(here, "**", "evoforge.db*"))
    elsewhere = readable("/tmp/evoforge-*/**/evoforge.db*") + readable({task!r} + "/**/evoforge.db*")
    return {{
        "combined_score": -abs(namespace["solve"]() - 3.7),
        "staged": staged,
        "readable": staged + elsewhere,
    }}
"""


def test_a_run_kept_in_its_task_folder_is_never_staged_nor_readable(tmp_path: Path) -> None:
    task = write_task(tmp_path, config="evaluation:\n  timeout_s: 20\n  parallel: 1\nmutators: {tune: 1.0}\n")
    (task / "evaluator.py").write_text(EVALUATOR.format(task=str(task)))
    started = evoforge_cli("run", str(task), "--run-dir", str(task), "--iterations", "2")
    assert started.returncode == 0, started.stderr
    assert (task / "evoforge.db").exists()
    resumed = evoforge_cli("resume", str(task), "--iterations", "4")  # staged with the database present
    assert resumed.returncode == 0, resumed.stderr
    with evoforge.load_run(task) as run:
        programs = run.programs()
    assert len(programs) == 4 and all(p.ok for p in programs)
    assert [p.metrics["staged"] for p in programs] == [0.0] * 4
    properties = plan_sandbox(SandboxConfig()).properties
    if {"separate_uid", "private_filesystem"} & properties:  # else candidates run as the run's owner
        assert [p.metrics["readable"] for p in programs] == [0.0] * 4
