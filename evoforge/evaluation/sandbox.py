"""Evaluations in isolated processes: the first sandbox layer, and the slots they run in.

Each evaluation slot has a warm launcher (``_launcher.py``, started once under the slot's layers:
its own uid, bubblewrap, cgroups) that forks a clean process per evaluation from an interpreter that
has run no user code (never a fork of the controller, which would inherit its database handle and
keys). The evaluation sets its own limits (``_child.py``), runs in the slot's scratch directory with
an allow-listed environment, and writes stdout, stderr and its result to pipes of this controller,
read through capped buffers (a child passing the cap is killed: its output is already useless and
its time is better spent elsewhere). The launcher enforces the wall-clock timeout, kills every
process the evaluation left and empties the scratch directory; a launcher that dies, hangs or could
not clean up is replaced. Nothing a candidate does raises here: it becomes a failed Evaluation. Only
controller-side problems raise (no scratch directory, no interpreter).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import signal
import tempfile
import time
import weakref
from pathlib import Path

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.capture import CappedBuffer, Capture
from evoforge.evaluation.cgroups import SlotCgroup, cgroup_name
from evoforge.evaluation.launch import (
    Launch,
    build_launch,
    modules_to_preload,
    prepare_scratch,
    release_scratch,
    remove_stage,
    slot_uid,
    stage_evaluator,
)
from evoforge.evaluation.launcher import LauncherGone, Reply, SlotLauncher, signal_name
from evoforge.evaluation.layers import SandboxPlan, plan_sandbox
from evoforge.records import Evaluation

CONTRACT = Path(__file__).with_name("contract.py")
OPEN_FILES = 256
DRAIN_AFTER_KILL_S = 2.0
STUCK_AFTER_S = 5.0  # a launcher that has not answered this long after the timeout is replaced
LEAVE_S = 1.0  # how long closing waits for idle launchers to leave by themselves
MIB = 1024 * 1024
PROCESSES = 256  # per slot uid; only set when slots have their own uid


class _PipeProtocol(asyncio.Protocol):
    def __init__(self, capture: Capture, buffer: CappedBuffer, closed: asyncio.Future[None]) -> None:
        self._capture = capture
        self._buffer = buffer
        self._closed = closed

    def data_received(self, data: bytes) -> None:
        self._capture.feed(self._buffer, data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)


async def _open_pipes(capture: Capture) -> tuple[list[asyncio.ReadTransport], tuple[int, int, int]]:
    """Pipes for stdout, stderr and the result: read here, their write ends for the evaluation."""
    loop = asyncio.get_running_loop()
    transports: list[asyncio.ReadTransport] = []
    write_ends: list[int] = []
    try:
        for buffer in (capture.stdout, capture.stderr, capture.result):
            read_fd, write_fd = os.pipe()
            write_ends.append(write_fd)
            closed = loop.create_future()
            capture.closed.append(closed)
            pipe = open(read_fd, "rb", buffering=0)  # noqa: SIM115 (its transport closes it)
            try:
                protocol = _PipeProtocol(capture, buffer, closed)
                transport, _ = await loop.connect_read_pipe(lambda p=protocol: p, pipe)
            except BaseException:
                pipe.close()
                raise
            transports.append(transport)
    except BaseException:
        for transport in transports:
            transport.close()
        for fd in write_ends:
            os.close(fd)
        raise
    return transports, (write_ends[0], write_ends[1], write_ends[2])


@dataclasses.dataclass
class _Slot:
    """A slot's host-side scratch directory (the launcher's, or under bubblewrap its start directory)
    and its launcher."""

    scratch: Path
    launcher: SlotLauncher


def _close(slots: dict[int, _Slot], cgroups: dict[int, SlotCgroup]) -> None:
    for slot in slots.values():
        slot.launcher.hang_up()  # all at once: they leave in parallel
    deadline = time.monotonic() + LEAVE_S
    for slot in slots.values():
        slot.launcher.stop(grace_s=max(deadline - time.monotonic(), 0.0))
        release_scratch(slot.scratch)
    slots.clear()
    for cgroup in cgroups.values():
        cgroup.kill_now()
        cgroup.remove()
    cgroups.clear()


class Sandbox:
    """Evaluates candidate code with the task's evaluator, each time in a fresh isolated process.

    ``plan`` is the set of isolation layers (default: every layer this machine offers, see
    layers.py). ``scratch_root`` is where the slots' scratch directories go (default: the system's).
    Call ``close()`` (or use ``with``) to stop the launchers and remove the staged evaluator.
    """

    def __init__(
        self,
        evaluator_path: Path,
        config: EvaluationConfig,
        score_metric: str | None = None,
        plan: SandboxPlan | None = None,
        scratch_root: Path | None = None,
    ) -> None:
        self._config = config
        self._score_metric = score_metric
        self.plan = plan or plan_sandbox(SandboxConfig())
        self._scratch_root = scratch_root
        self._limits = {
            "cpu_s": math.ceil(config.cpu_s or config.timeout_s),
            "memory_mb": config.memory_mb,
            "file_mb": config.max_file_mb,
            "nofile": OPEN_FILES,
            "nproc": PROCESSES if self.plan.uid_base is not None else None,
        }
        evaluator = Path(evaluator_path).resolve()
        self._evaluator = evaluator
        self._preload = modules_to_preload(self.plan, evaluator)
        self._unstage: weakref.finalize | None = None
        if self.plan.uid_base is not None or self.plan.bwrap is not None:
            self._evaluator = stage_evaluator(evaluator)
            self._unstage = weakref.finalize(self, remove_stage, self._evaluator)
        self._free_slots = list(range(config.parallel - 1, -1, -1))
        self._slots: dict[int, _Slot] = {}
        self._cgroups: dict[int, SlotCgroup] = {}
        self._finalize = weakref.finalize(self, _close, self._slots, self._cgroups)
        self._next_slot = config.parallel

    def close(self) -> None:
        self._finalize()
        if self._unstage is not None:
            self._unstage()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def _cgroup(self, number: int) -> SlotCgroup | None:
        """The slot's cgroups (layer L3), made on first use."""
        if self.plan.cgroups is None:
            return None
        if number not in self._cgroups:
            name = cgroup_name(f"{id(self):x}-{number}")
            limits = (self._config.memory_mb * MIB, PROCESSES)
            self._cgroups[number] = await asyncio.to_thread(SlotCgroup, self.plan.cgroups, name, *limits)
        return self._cgroups[number]

    def _take_slot(self) -> int:
        """A slot (hence a uid) no running evaluation holds, so candidates cannot reach each other."""
        if self._free_slots:
            return self._free_slots.pop()
        self._next_slot += 1
        return self._next_slot - 1

    async def _slot(self, number: int) -> _Slot:
        """The slot with a running launcher, started (or restarted) when needed."""
        slot = self._slots.get(number)
        if slot is not None and slot.launcher.running:
            return slot
        if slot is not None:
            await self._retire(number)
        cgroup = await self._cgroup(number)
        scratch = Path(tempfile.mkdtemp(prefix="evoforge-", dir=self._scratch_root))
        try:
            prepare_scratch(scratch, slot_uid(self.plan, number))
            launch = build_launch(self.plan, self._evaluator, scratch, number)
            launcher = await SlotLauncher.start(launch, self._launcher_config(launch), cgroup)
        except BaseException:
            release_scratch(scratch)
            raise
        slot = self._slots[number] = _Slot(scratch, launcher)
        return slot

    def _launcher_config(self, launch: Launch) -> dict[str, object]:
        return {
            "evaluator": str(launch.evaluator),
            "contract": str(CONTRACT),
            "site_dirs": list(self.plan.site_dirs),
            "seccomp": self.plan.seccomp,
            "limits": self._limits,
            "scratch": str(launch.scratch),
            "preload": self._preload,
            "timeout_s": self._config.timeout_s,
            "records": self._config.record_limits(),
            "score_metric": self._score_metric,
        }

    async def _retire(self, number: int) -> None:
        """Stop a slot's launcher and remove what its evaluations left (processes, files)."""
        slot = self._slots.pop(number)
        slot.launcher.stop()
        if number in self._cgroups:
            await self._cgroups[number].kill()
        await asyncio.to_thread(release_scratch, slot.scratch)

    async def evaluate(self, code: str, filename: str = "program.py") -> Evaluation:
        """Evaluate ``code``, saved as ``filename`` in the slot's scratch directory (emptied afterwards)."""
        started = time.monotonic()
        number = self._take_slot()
        try:
            evaluation = await self._run(number, await self._slot(number), code, filename)
        finally:
            self._free_slots.append(number)
        return dataclasses.replace(evaluation, duration_s=time.monotonic() - started)

    async def _run(self, number: int, slot: _Slot, code: str, filename: str) -> Evaluation:
        capture = Capture(self._config, slot.launcher.interrupt)
        transports, pipes = await _open_pipes(capture)
        reply: Reply | None = None
        try:
            reply = await slot.launcher.run(code, filename, pipes, self._config.timeout_s + STUCK_AFTER_S)
        except LauncherGone as gone:
            failure = str(gone)
        except TimeoutError:  # the launcher itself is stuck (stopped by a candidate, say)
            failure = f"timeout after {self._config.timeout_s:g} s"
        finally:
            for fd in pipes:
                os.close(fd)
            if reply is None or not reply.clean:
                await self._retire(number)
            await asyncio.wait(capture.closed, timeout=DRAIN_AFTER_KILL_S)
            for transport in transports:
                transport.close()
        if reply is None:
            return Evaluation.failure(failure, capture.artifacts())
        return self._interpret(capture, reply.returncode, reply.timed_out)

    def _interpret(self, capture: Capture, returncode: int | None, timed_out: bool) -> Evaluation:
        if timed_out:
            return Evaluation.failure(f"timeout after {self._config.timeout_s:g} s", capture.artifacts())
        if capture.overflowed is None and not capture.result.size:
            return Evaluation.failure(self._exit_reason(returncode), capture.artifacts())
        return capture.evaluation(self._config, self._score_metric)

    def _exit_reason(self, returncode: int | None) -> str:
        if returncode is None or returncode >= 0:
            return f"exited with code {returncode} before returning a result"
        number = -returncode
        if number == signal.SIGXCPU:
            return f"CPU time limit exceeded ({self._limits['cpu_s']} s)"
        hint = " (memory or CPU limit?)" if number == signal.SIGKILL else ""
        return f"killed by signal {signal_name(number)}{hint}"
