"""The controller's side of one slot's warm launcher (``sandboxed_launcher.py``): start, run, stop.

A launcher holds no secret and no database handle: it gets the allow-listed environment, the paths
of the staged evaluator and the contract, and the slot's limits. Each evaluation sends it the write
ends of three fresh pipes and the program as an unlinked file (``SCM_RIGHTS``), so output and result
go straight from the evaluation to the controller, and the program's size never matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evoforge.errors import EvaluatorError
from evoforge.evaluation.cgroups import SlotCgroup
from evoforge.evaluation.launch_command import Launch
from evoforge.evaluation.preload import report_failed_preloads

MAX_MESSAGE = 65536
STDERR_TAIL = 400


class LauncherGone(Exception):
    """The launcher stopped answering: killed (by a candidate of its slot, say) or crashed.

    ``returncode`` is how its process ended (negative: the signal), None if it is still there.
    """

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


@dataclass(frozen=True)
class Inputs:
    """What an evaluation gets besides its program: files written beside it and environment variables."""

    files: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """How one evaluation process ended, as its launcher saw it."""

    returncode: int | None
    timed_out: bool
    clean: bool  # every leftover process killed and the scratch directory emptied


class SlotLauncher:
    """One slot's launcher process and its control socket."""

    def __init__(self, process: subprocess.Popen[bytes], control: socket.socket, log: Any) -> None:
        self._process = process
        self._control = control
        self._log = log
        self._buffer = b""
        self.address_space_mb: int | None = None  # what every evaluation starts with (Linux)

    @classmethod
    async def start(
        cls, launch: Launch, config: dict[str, object], cgroup: SlotCgroup | None, wait_s: float
    ) -> SlotLauncher:
        """Start the launcher and wait until it is ready (its imports done): LauncherGone if it ends
        first or takes longer than ``wait_s``. Started on the event loop's thread: its parent-death
        signal follows that thread."""
        ours, theirs = socket.socketpair()
        control_fd = theirs.fileno()  # the same number in the launcher (pass_fds keeps it)
        log = tempfile.TemporaryFile()  # noqa: SIM115 (the launcher's stderr, quoted if it dies; closed by stop)
        try:
            process = subprocess.Popen(
                launch.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=launch.cwd,
                env=launch.env,
                start_new_session=True,  # its own process group, killed as a whole
                pass_fds=(theirs.fileno(),),
                **launch.identity,  # type: ignore[arg-type]
            )
        except OSError as error:
            ours.close()
            log.close()
            raise EvaluatorError(f"cannot start the evaluation launcher {launch.argv[0]}: {error}") from None
        finally:
            theirs.close()
        ours.setblocking(False)
        launcher = cls(process, ours, log)
        assert process.stdin is not None
        try:
            if cgroup is not None:
                await asyncio.to_thread(cgroup.join, process.pid)
        except OSError as error:
            launcher.stop()
            raise EvaluatorError(f"cannot start the evaluation launcher: {error}") from None
        try:
            if cgroup is not None:
                process.stdin.write(b"\n")  # the shim's signal to become the real command
            process.stdin.write(json.dumps({**config, "control_fd": control_fd}).encode())
            process.stdin.close()
            ready = await asyncio.wait_for(launcher._receive(), wait_s)
        except TimeoutError:
            launcher.stop()
            raise LauncherGone(
                f"the sandbox's evaluation launcher was not ready after {wait_s:g} s"
            ) from None
        except OSError:  # it ended before it read its configuration
            gone = launcher.gone()
            launcher.stop()
            raise gone from None
        except BaseException:
            launcher.stop()
            raise
        launcher.address_space_mb = ready.get("address_space_mb")
        report_failed_preloads(ready.get("preload_failed") or {})
        return launcher

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    async def run(
        self,
        code: str,
        filename: str,
        pipes: tuple[int, int, int],
        wait_s: float,
        inputs: Inputs | None = None,
        call: str = "evaluate",
    ) -> Reply:
        """Evaluate ``code`` as ``scratch/filename``; LauncherGone, or TimeoutError after ``wait_s``.
        ``call`` is ``evaluate`` or ``fingerprint`` (the evaluator's function to run, cascade.py).

        With ``inputs.files`` the program file carries every file as JSON (``{path: text}``, the
        program included) for the launcher to write; ``inputs.env`` goes in the message.
        """
        request: dict[str, object] = {"run": filename, "call": call}
        data = code.encode("utf-8")
        if inputs is not None and inputs.files:
            request["files"] = True
            data = json.dumps({**inputs.files, filename: code}).encode("utf-8")
        if inputs is not None and inputs.env:
            request["env"] = dict(inputs.env)
        with tempfile.TemporaryFile() as program:
            program.write(data)
            program.flush()
            program.seek(0)
            message = json.dumps(request).encode() + b"\n"
            try:
                socket.send_fds(self._control, [message], [*pipes, program.fileno()])
            except OSError:
                raise self.gone() from None
        answer = await asyncio.wait_for(self._receive(), wait_s)
        return Reply(answer.get("exit"), bool(answer.get("timed_out")), bool(answer.get("clean")))

    def interrupt(self) -> None:
        """Ask the launcher to kill the running evaluation (its answer follows as usual)."""
        with contextlib.suppress(OSError):
            self._control.send(b'{"kill": true}\n')

    async def _receive(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        while b"\n" not in self._buffer:
            try:
                data = await loop.sock_recv(self._control, MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                raise self.gone()
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer = json.loads(line)
        assert isinstance(answer, dict)
        return answer

    def gone(self) -> LauncherGone:
        """The launcher's end in one line: its exit and the end of what it wrote on stderr."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=0.5)  # it closed its socket: it is leaving
        code = self._process.returncode
        ended = "is stuck" if code is None else f"ended ({_describe(code)})"
        self._log.seek(0)
        said = " ".join(self._log.read().decode("utf-8", "replace").split())[-STDERR_TAIL:]
        return LauncherGone(
            f"the sandbox's evaluation launcher {ended}" + (f": {said}" if said else ""), code
        )

    def hang_up(self) -> None:
        """Close the control socket: an idle launcher then kills what it holds and leaves by itself."""
        self._control.close()

    def stop(self, grace_s: float = 0.0) -> None:
        """Reap the launcher once it has left (within ``grace_s`` of a hang-up), else kill it and
        everything it started (a stopped launcher included)."""
        self.hang_up()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=grace_s)  # one that left by itself passes on its children's CPU time
        if self._process.returncode is None:
            _kill_children_groups(self._process.pid)
            with contextlib.suppress(OSError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._log.close()


def signal_name(number: int) -> str:
    return signal.Signals(number).name if number in signal.valid_signals() else f"number {number}"


def _describe(returncode: int) -> str:
    return f"killed by signal {signal_name(-returncode)}" if returncode < 0 else f"exit code {returncode}"


def _kill_children_groups(pid: int) -> None:
    """Kill the process groups of ``pid``'s children: evaluations live in their own sessions.

    Only needed without a pid namespace or cgroup (those kill them anyway); the pids are the
    launcher's children as this process sees them, read while the launcher still holds them.
    """
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in listing.read_text().split():
                with contextlib.suppress(OSError):
                    os.killpg(int(child), signal.SIGKILL)
