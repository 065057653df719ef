"""A run killed with kill -9 mid-evaluation leaves its staged task folder, scratch directories and
cgroups behind; the next evoforge process to start a sandbox removes them."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from evoforge.evaluation.cgroups import probe_cgroups
from evoforge.evaluation.leases import NAME_PREFIX, holder_token, lease_directory
from evoforge.testing.tasks import evoforge_cli, evoforge_command, write_task

SLOW_EVALUATOR = "import time\n\n\ndef evaluate(program_path):\n    time.sleep(600)\n"


def held_leases(pid: int) -> list[str]:
    """The names that the leases ``pid`` holds give what it makes (its open lease files, read now)."""
    directory = str(lease_directory())
    names = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if os.path.dirname(target) == directory and target.endswith(".lock"):
            number = int(os.path.basename(target).removesuffix(".lock"))
            names.append(f"{NAME_PREFIX}{number}-{holder_token(number)}")
    return names


def named_after(names: list[str]) -> list[Path]:
    """Directories and cgroups named after these leases."""
    places = [Path(tempfile.gettempdir())]
    roots = probe_cgroups()[0]
    if roots is not None:
        places += [r for r in (roots.unified, roots.memory_v1, roots.pids_v1) if r is not None]
    return [p for place in places for p in place.iterdir() if p.name.startswith(tuple(names))]


def test_the_next_start_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    slow = write_task(tmp_path)
    (slow / "evaluator.py").write_text(SLOW_EVALUATOR)
    run = subprocess.Popen(
        evoforge_command("run", str(slow), "--run-dir", str(tmp_path / "run")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        left: list[Path] = []
        while time.monotonic() < deadline:  # until the initial program's evaluation is under way
            names = held_leases(run.pid)
            left = named_after(names)
            if len(names) >= 2 and any(path.name.startswith(names[-1]) for path in left):
                break  # the slot's scratch directory: its evaluation is under way
            time.sleep(0.05)
        assert run.poll() is None and left, "the run never started its evaluation"
    finally:
        run.kill()
        run.wait()
    assert all(path.exists() for path in left)  # nothing removed them: the sweep below must
    (tmp_path / "other").mkdir()
    other = write_task(tmp_path / "other")
    elsewhere = ["--set", "sandbox.uid_base=63000"]  # its own numbers: it cannot make what it must sweep
    finished = evoforge_cli(
        "run", str(other), "--run-dir", str(tmp_path / "run2"), "--iterations", "1", *elsewhere
    )
    assert finished.returncode == 0, finished.stderr
    assert [path for path in left if path.exists()] == []
