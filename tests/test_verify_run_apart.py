"""evoforge.verify.run_apart: nothing a candidate's command starts outlives it, not even a setsid daemon."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evoforge.testing.processes import alive
from evoforge.verify import PR_GET_CHILD_SUBREAPER, run_apart

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="child subreapers are Linux's")


def leaving_a_daemon(pid_file: Path, then: str = "") -> list[str]:
    """A command starting a setsid daemon (double fork) that writes its pid; then it runs ``then``."""
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        open({str(pid_file)!r} + '.tmp', 'w').write(str(os.getpid()))\n"
        f"        os.rename({str(pid_file)!r} + '.tmp', {str(pid_file)!r})\n"
        "        time.sleep(600)\n"
        "    os._exit(0)\n"
        f"while not os.path.exists({str(pid_file)!r}):\n"
        "    time.sleep(0.01)\n"
        f"{then}"
    )
    return [sys.executable, "-c", code]


@pytest.fixture
def pid_file(tmp_path: Path) -> Iterator[Path]:
    """Where the daemon writes its pid; a daemon that survives its test is killed after it."""
    path = tmp_path / "daemon.pid"
    yield path
    if path.exists() and alive(int(path.read_text())):
        os.kill(int(path.read_text()), signal.SIGKILL)


def daemon_pid(pid_file: Path) -> int:
    return int(pid_file.read_text())


def test_a_setsid_daemon_is_gone_when_run_apart_returns(pid_file: Path) -> None:
    done = run_apart(leaving_a_daemon(pid_file), timeout_s=60)
    assert done.returncode == 0
    assert not alive(daemon_pid(pid_file))


def test_a_timeout_raises_and_still_leaves_nothing(pid_file: Path) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run_apart(leaving_a_daemon(pid_file, then="time.sleep(600)\n"), timeout_s=2)
    assert not alive(daemon_pid(pid_file))


def test_the_callers_own_children_and_role_are_left_alone(pid_file: Path) -> None:
    mine = subprocess.Popen(["sleep", "600"])
    try:
        run_apart(leaving_a_daemon(pid_file), timeout_s=60)
        assert mine.poll() is None
    finally:
        mine.kill()
        mine.wait()
    subreaper = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(subreaper), 0, 0, 0)
    assert subreaper.value == 0
