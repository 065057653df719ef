"""Signals to a real `evoforge run`: each way a run is ended stops it cleanly and leaves it resumable.

The run evolves a task whose children sleep until the run stops (while a file named ``slow`` is in the
task folder), so that there is always work in flight when the signal arrives; the test waits until
the evaluations are running (their processes rename themselves) instead of guessing a delay.
"""

from __future__ import annotations

import contextlib
import os
import pty
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import evoforge
from evoforge.testing.tasks import evoforge_cli, write_task

SLOW_NAME = "evoforge-slow"
EVALUATOR = f"""import ctypes
import os


def evaluate(program_path):
    with open(program_path) as file:
        code = file.read()
    slow = os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "slow"))
    if slow and "x = 1.0\\n" not in code:  # a child: in flight until the run stops
        ctypes.CDLL(None).prctl(15, b"{SLOW_NAME}", 0, 0, 0)  # PR_SET_NAME, for the test to see it
        import time
        time.sleep(600)
    return {{"combined_score": 1.0 if "x = 1.0\\n" in code else 2.0}}
"""
CONFIG = "evaluation:\n  timeout_s: 900\n  parallel: 2\n"


class Run:
    """A real `evoforge run` in its own session, its stderr collected line by line.

    With ``terminal`` (a pseudo-terminal's end) as its stdin, stdout and stderr instead, as in a
    terminal window.
    """

    def __init__(self, tmp_path: Path, terminal: int | None = None) -> None:
        self.task = write_task(tmp_path, CONFIG)
        (self.task / "evaluator.py").write_text(EVALUATOR)
        (self.task / "slow").write_text("")
        self.run_dir = tmp_path / "run"
        args = ["run", str(self.task), "--run-dir", str(self.run_dir), "--iterations", "100"]
        output = subprocess.PIPE if terminal is None else terminal
        self.process = subprocess.Popen(
            [sys.executable, "-m", "evoforge.cli", *args],
            stdin=terminal,
            stdout=output,
            stderr=output,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stderr(self) -> None:
        for line in self.process.stderr or ():
            self.lines.put(line)

    def wait_for_evaluations_in_flight(self) -> None:
        """Until both evaluation slots run a sleeping child."""
        deadline = time.monotonic() + 120
        while _count_named(self.process.pid, SLOW_NAME) < 2:
            assert self.process.poll() is None, self.finish()
            assert time.monotonic() < deadline, "the evaluations never started"
            time.sleep(0.1)

    def wait_for_line(self, text: str) -> None:
        while True:
            line = self.lines.get(timeout=120)
            self.stderr.append(line)
            if text in line:
                return

    def finish(self) -> str:
        """Wait for the end; all of stderr."""
        self.process.wait(timeout=120)
        if self.process.stdout is not None:
            self.process.stdout.read()
        time.sleep(0.2)  # the reader thread takes the last lines
        while not self.lines.empty():
            self.stderr.append(self.lines.get())
        return "".join(self.stderr)

    def resume_to(self, total: int) -> None:
        """Resume with fast children until ``total`` programs are stored."""
        (self.task / "slow").unlink()
        result = evoforge_cli("resume", str(self.run_dir), "--iterations", str(total))
        assert result.returncode == 0, result.stderr
        with evoforge.load_run(self.run_dir) as run:
            assert run.status()["evaluated"] == total


def _count_named(root: int, name: str) -> int:
    """Descendants of ``root`` whose command name is ``name``."""
    count, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
            with open(f"/proc/{pid}/comm") as comm:
                count += comm.read().strip() == name
        except OSError:
            continue  # it ended meanwhile
    return count


class WriteLock:
    """The run database's write lock, held by another process (as an open `sqlite3` shell may).

    The run's writes wait for it, and so does the run: a stop then hangs until the lock is gone.
    """

    def __init__(self, run_dir: Path) -> None:
        self._db = sqlite3.connect(run_dir / "evoforge.db", isolation_level=None)

    def __enter__(self) -> WriteLock:
        self._db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc_info: object) -> None:
        time.sleep(0.5)  # a signal just sent is delivered while the stop still waits
        self._db.execute("ROLLBACK")
        self._db.close()


def stored(run_dir: Path) -> dict[str, object]:
    with evoforge.load_run(run_dir) as run:
        return run.status()


def assert_stopped_cleanly(run: Run, stderr: str, signal_name: str) -> None:
    assert "Traceback" not in stderr and "aborting" not in stderr, stderr
    assert f"stopped: stopped by {signal_name}" in stderr, stderr
    status = stored(run.run_dir)
    assert status["running"] is False
    assert status["cancelled"] >= 2  # the two sleeping evaluations
    assert (run.run_dir / "best_program.py").read_text() == run.task.joinpath(
        "initial_program.py"
    ).read_text()


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_cleanly_and_the_run_resumes(tmp_path: Path, number: signal.Signals) -> None:
    run = Run(tmp_path)
    run.wait_for_evaluations_in_flight()
    run.process.send_signal(number)
    stderr = run.finish()
    assert run.process.returncode == 128 + number, stderr
    assert_stopped_cleanly(run, stderr, number.name)
    evaluated = stored(run.run_dir)["evaluated"]
    assert isinstance(evaluated, int)
    run.resume_to(evaluated + 2)


def test_sighup_after_the_terminal_closed_stops_cleanly(tmp_path: Path) -> None:
    """Closing the terminal: the stop's last words cannot reach it, and must not turn into a crash."""
    terminal, end = pty.openpty()
    run = Run(tmp_path, terminal=end)
    os.close(end)
    run.wait_for_evaluations_in_flight()
    os.close(terminal)  # the window is gone: writing to its end now fails
    run.process.send_signal(signal.SIGHUP)
    run.finish()
    assert run.process.returncode == 128 + signal.SIGHUP
    status = stored(run.run_dir)
    assert status["running"] is False and status["cancelled"] >= 2
    assert (run.run_dir / "best_program.py").read_text() == run.task.joinpath(
        "initial_program.py"
    ).read_text()


@pytest.mark.parametrize("stop_waits", [False, True], ids=["stop-runs", "stop-waits-on-a-lock"])
def test_two_sigints_to_the_group_are_one_clean_stop(tmp_path: Path, stop_waits: bool) -> None:
    """What `timeout -s INT` and a terminal's Ctrl-C do: the process, then its whole group.

    With ``stop_waits`` the stop is held up until both signals are in, so the second one surely
    meets a stop in progress rather than a process that has already left.
    """
    run = Run(tmp_path)
    run.wait_for_evaluations_in_flight()
    with WriteLock(run.run_dir) if stop_waits else contextlib.nullcontext():
        os.killpg(run.process.pid, signal.SIGINT)
        if stop_waits:
            run.wait_for_line("SIGINT: stopping cleanly")
        time.sleep(0.05)
        os.killpg(run.process.pid, signal.SIGINT)
    stderr = run.finish()
    assert run.process.returncode == 130, stderr
    assert_stopped_cleanly(run, stderr, "SIGINT")


def test_a_later_second_sigint_aborts_a_stuck_stop_and_keeps_the_run(tmp_path: Path) -> None:
    """Ctrl-C again while the stop hangs (here on a write lock another process holds) aborts it."""
    run = Run(tmp_path)
    run.wait_for_evaluations_in_flight()
    with WriteLock(run.run_dir):
        run.process.send_signal(signal.SIGINT)
        run.wait_for_line("SIGINT: stopping cleanly")
        time.sleep(1.5)
        run.process.send_signal(signal.SIGINT)
    stderr = run.finish()
    assert run.process.returncode == 130, stderr
    assert "SIGINT again: aborting" in stderr and "evoforge: aborted" in stderr, stderr
    assert "Traceback" not in stderr, stderr
    assert (run.run_dir / "best_program.py").read_text() == run.task.joinpath(
        "initial_program.py"
    ).read_text()
    with sqlite3.connect(run.run_dir / "evoforge.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert stored(run.run_dir)["running"] is False
    run.resume_to(3)
