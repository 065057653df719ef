"""Evaluations in isolated processes: the first sandbox layer, and the slots they run in.

Each evaluation slot has a warm launcher (``sandboxed_launcher.py``, started once under the slot's
layers: its own uid, bubblewrap, cgroups) that forks a clean process per evaluation from an interpreter that
has run no user code (never a fork of the controller, which would inherit its database handle and
keys). The evaluation sets its own limits (``sandboxed_evaluation.py``), runs in the slot's scratch
directory with an allow-listed environment, and writes stdout, stderr and its result to pipes of this
controller, read through capped buffers (a child passing the cap is killed: its output is already
useless and its time is better spent elsewhere). The launcher enforces the wall-clock timeout, kills every
process the evaluation left, empties the scratch directory and removes what the slot's uid left in
``/tmp`` and ``/dev/shm`` (``cleanup.py``); a launcher that dies, hangs or could not clean up is
replaced, and the controller removes what it could not. Nothing a candidate does raises here: it
becomes a failed Evaluation. Only controller-side problems raise (no scratch directory, no
interpreter, a memory limit too low for any evaluation to start).

A sandbox owns processes, cgroups and directories: use it as ``async with`` (or ``with``, or call
``close()``), which releases them all; nothing is left to garbage collection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import os
import signal
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.errors import ConfigError, EvaluatorError
from evoforge.evaluation import leftovers
from evoforge.evaluation.capture import CappedBuffer, Capture
from evoforge.evaluation.cgroups import SlotCgroup
from evoforge.evaluation.cleanup import remove_ipc_objects, remove_owned
from evoforge.evaluation.inflight import InFlight
from evoforge.evaluation.launch_command import SHARED_MEMORY, Launch, build_launch
from evoforge.evaluation.launcher_handle import Inputs, LauncherGone, Reply, SlotLauncher, signal_name
from evoforge.evaluation.layers import SandboxPlan, plan_sandbox
from evoforge.evaluation.leases import SandboxLeases
from evoforge.evaluation.preload import modules_to_preload
from evoforge.evaluation.scratch import prepare_scratch, release_scratch
from evoforge.evaluation.staging import Stage
from evoforge.records import Evaluation

log = logging.getLogger(__name__)

CONTRACT = Path(__file__).with_name("contract.py")
OPEN_FILES = 256
DRAIN_AFTER_KILL_S = 2.0
STUCK_AFTER_S = 5.0  # a launcher that has not answered this long after the timeout is replaced
LEAVE_S = 1.0  # how long closing waits for idle launchers to leave by themselves
MIB = 1024 * 1024
PROCESSES = 256  # per slot uid; only set when slots have their own uid
# Where a slot's uid can leave files outside its scratch directory (/dev/shm is memory, charged to the
# slot's cgroup): what it owns there is removed after every evaluation. Without a uid or a mount
# namespace of its own, candidates run as the controller's user, whose own files these are too; under
# Landlock they can write only to /dev/shm (scanning /tmp costs ~10 µs per entry, every evaluation).
SHARED_TEMP = ("/tmp", SHARED_MEMORY)
SANE_MEMORY_MB = 256  # suggested at least, when memory_mb is too low for any evaluation to start


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


def _too_little_memory(memory_mb: int, needed_mb: int, why: str) -> ConfigError:
    default = EvaluationConfig.model_fields["memory_mb"].default
    at_least = max(SANE_MEMORY_MB, -(-(needed_mb + 64) // 64) * 64)
    return ConfigError(
        f"evaluation.memory_mb: {memory_mb} is too low to start the evaluator: {why}; "
        f"use at least {at_least} (the default is {default})"
    )


class Sandbox:
    """Evaluates candidate code with the task's evaluator, each time in a fresh isolated process.

    ``plan`` is the set of isolation layers (default: every layer this machine offers, see
    layers.py). ``scratch_root`` is where the slots' scratch directories go (default: the system's).
    Use it as ``async with`` (``with`` or ``close()`` outside an event loop): leaving stops the
    launchers and removes the slots' cgroups, scratch directories and the staged evaluator.
    """

    def __init__(
        self,
        evaluator_path: Path,
        config: EvaluationConfig,
        score_metric: str | None = None,
        plan: SandboxPlan | None = None,
        scratch_root: Path | None = None,
        evaluator_kind: str = "evoforge",
    ) -> None:
        self._config = config
        self._score_metric = score_metric
        self._evaluator_kind = evaluator_kind  # "shinka": the evaluator is a ShinkaEvolve evaluate.py script
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
        self._preload = modules_to_preload(self.plan, evaluator)
        leftovers.sweep(leftovers.places(self.plan, scratch_root))  # what dead sandboxes left
        self._leases = SandboxLeases(self.plan.lease_start, separate_uid=self.plan.uid_base is not None)
        try:
            self._stage = Stage(evaluator, self._leases.own.name, self._leases.group, self.plan.watch_stage)
        except BaseException:
            self._leases.release()
            raise
        self._evaluator = self._stage.evaluator
        apart = self.plan.uid_base is not None or self.plan.bwrap is not None
        writable = [SHARED_MEMORY] if self.plan.landlock is not None else list(SHARED_TEMP)
        self._sweep = writable if apart else []
        self._free_slots = list(range(config.parallel - 1, -1, -1))
        self._running = InFlight(config.parallel)  # back-pressure: callers beyond it wait
        self._slots: dict[int, _Slot] = {}
        self._cgroups: dict[int, SlotCgroup] = {}
        self._started = False  # a launcher got ready once: later failures to start are the candidates'
        self._closed = False

    def close(self) -> None:
        """Stop the launchers (idle ones leave by themselves, all at once), kill what is left in the
        slots' cgroups, remove every slot's files and cgroups, and the staged evaluator. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            for slot in self._slots.values():
                slot.launcher.hang_up()
            deadline = time.monotonic() + LEAVE_S
            for slot in self._slots.values():
                slot.launcher.stop(grace_s=max(deadline - time.monotonic(), 0.0))
            for cgroup in self._cgroups.values():
                cgroup.kill_now()
            for number, slot in self._slots.items():
                self._remove_leftovers(number, slot.scratch, None)
            for cgroup in self._cgroups.values():
                cgroup.remove()
        finally:
            self._slots.clear()
            self._cgroups.clear()
            self._stage.remove()
            self._leases.release()

    async def aclose(self) -> None:
        """Cancel the evaluations in flight, then ``close()`` in a worker thread: launchers take up to
        LEAVE_S to leave, big trees to remove."""
        await self._running.cancel()
        await asyncio.to_thread(self.close)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _cgroup(self, number: int) -> SlotCgroup | None:
        """The slot's cgroups (layer L3), made on first use."""
        if self.plan.cgroups is None:
            return None
        if number not in self._cgroups:
            name = self._leases.slot(number).name
            limits = (self._config.memory_mb * MIB, PROCESSES)
            self._cgroups[number] = await asyncio.to_thread(SlotCgroup, self.plan.cgroups, name, *limits)
        return self._cgroups[number]

    def _take_slot(self) -> int:
        """A slot (hence a uid) no running evaluation holds, so candidates cannot reach each other."""
        return self._free_slots.pop()  # never empty: ``_running`` admits at most one caller per slot

    async def _slot(self, number: int) -> _Slot:
        """The slot with a running launcher, started (or restarted) when needed."""
        slot = self._slots.get(number)
        if slot is not None and slot.launcher.running:
            return slot
        if slot is not None:
            await self._retire(number)
        cgroup = await self._cgroup(number)
        lease = self._leases.slot(number)
        scratch = Path(tempfile.mkdtemp(prefix=f"{lease.name}-", dir=self._scratch_root))
        try:
            uid = self._leases.slot_uid(number)
            prepare_scratch(scratch, uid)
            launch = build_launch(self.plan, self._evaluator, scratch, uid, self._leases.group)
            wait_s = self._config.timeout_s + STUCK_AFTER_S
            launcher = await SlotLauncher.start(launch, self._launcher_config(launch), cgroup, wait_s)
            if not self._started:
                self._check_memory(launcher)
        except LauncherGone as gone:
            release_scratch(scratch)
            if self._started:
                raise  # a candidate of this slot left something that stops launchers: one failed evaluation
            raise self._cannot_start(gone) from None
        except BaseException:
            release_scratch(scratch)
            raise
        self._started = True
        slot = self._slots[number] = _Slot(scratch, launcher)
        return slot

    def _check_memory(self, launcher: SlotLauncher) -> None:
        """Refuse a memory limit below what every evaluation starts with (its launcher's address
        space, which a fork inherits): no evaluation could allocate anything."""
        needed = launcher.address_space_mb
        if needed is not None and self._config.memory_mb <= needed:
            launcher.stop()
            why = (
                f"every evaluation starts with {needed} MB of address space (an interpreter and its imports)"
            )
            raise _too_little_memory(self._config.memory_mb, needed, why)

    def _cannot_start(self, gone: LauncherGone) -> ConfigError | EvaluatorError:
        """Why no evaluation can run, when the first launcher ended before it was ready."""
        cgroups = self.plan.cgroups
        # bubblewrap reports a child killed by a signal as its own exit code 128 + signal
        killed = gone.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL if self.plan.bwrap else None)
        if killed and cgroups is not None and cgroups.limits_memory:
            why = "the evaluation launcher was killed under that limit before it was ready"
            return _too_little_memory(self._config.memory_mb, 0, why)
        return EvaluatorError(f"cannot start evaluations: {gone}")

    def _launcher_config(self, launch: Launch) -> dict[str, object]:
        return {
            "evaluator": str(launch.evaluator),
            "contract": str(CONTRACT),
            "site_dirs": list(self.plan.site_dirs),
            "seccomp": self.plan.seccomp,
            "landlock": launch.landlock,
            "limits": self._limits,
            "scratch": str(launch.scratch),
            "preload": self._preload,
            "timeout_s": self._config.timeout_s,
            "sweep": self._sweep,
            "records": self._config.record_limits(),
            "score_metric": self._score_metric,
            "evaluator_kind": self._evaluator_kind,
            "cascade": self._config.cascade.for_child() if self._config.cascade is not None else None,
        }

    async def _retire(self, number: int, why: str | None = None) -> None:
        """Stop a slot's launcher and remove what its evaluations left (processes, files); the next
        evaluation in this slot gets a new launcher and scratch directory. ``why``: the launcher's
        own cleanup failed (logged)."""
        slot = self._slots.pop(number, None)
        if slot is None:  # closed meanwhile: close() stopped its launcher and removed its files
            return
        slot.launcher.stop()
        if number in self._cgroups:
            await self._cgroups[number].kill()
        await asyncio.to_thread(self._remove_leftovers, number, slot.scratch, why)

    def _remove_leftovers(self, number: int, scratch: Path, why: str | None) -> None:
        """Remove a slot's scratch directory and what its uid owns where it can write (``_sweep``) and
        in System V IPC; log what stays."""
        stayed = [] if release_scratch(scratch) else [str(scratch)]
        uid = self._leases.slot_uid(number)
        if uid is not None:
            spared = (self._stage.root,)  # the stage, whoever owns it
            stayed += [f"{d} (uid {uid})" for d in self._sweep if not remove_owned(d, uid, spared)]
            stayed += [] if remove_ipc_objects(uid) else [f"System V IPC (uid {uid})"]
        if why is not None or stayed:
            left = f"; left in place: {', '.join(stayed)}" if stayed else ""
            log.warning("evaluation slot %d: %s; its launcher is replaced%s", number, why or "retired", left)

    async def evaluate(
        self,
        code: str,
        filename: str = "program.py",
        files: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        call: str = "evaluate",
    ) -> Evaluation:
        """Evaluate ``code``, saved as ``filename`` in the slot's scratch directory (emptied afterwards).

        ``files`` are written beside it (relative paths: a multi-file task's other files, search mode's
        best solution); ``env`` is added to the evaluation's environment (search mode's inputs).
        ``call="fingerprint"`` runs the evaluator's ``fingerprint()`` instead (its digest in the result's
        ``fingerprint``; database/dedup.py). At most ``parallel`` evaluations run at once; further
        calls wait for a slot.
        """
        async with self._running.turn():
            started = time.monotonic()
            number = self._take_slot()
            generation = self._stage.generation
            try:
                try:
                    slot = await self._slot(number)
                except LauncherGone as gone:
                    evaluation = Evaluation.failure(str(gone))
                else:
                    inputs = Inputs(files or {}, env or {})
                    evaluation = await self._run(number, slot, code, filename, inputs, call)
            finally:
                self._free_slots.append(number)
        tampered = self._stage.check(generation)
        if tampered is not None:
            evaluation = Evaluation.failure(tampered, evaluation.artifacts)
        return dataclasses.replace(evaluation, duration_s=time.monotonic() - started)

    async def _run(
        self, number: int, slot: _Slot, code: str, filename: str, inputs: Inputs, call: str
    ) -> Evaluation:
        capture = Capture(self._config, slot.launcher.interrupt)
        transports, pipes = await _open_pipes(capture)
        reply: Reply | None = None
        try:
            wait_s = self._config.timeout_s + STUCK_AFTER_S
            reply = await slot.launcher.run(code, filename, pipes, wait_s, inputs, call)
        except LauncherGone as gone:
            failure = str(gone)
        except TimeoutError:  # the launcher itself is stuck (stopped by a candidate, say)
            failure = f"timeout after {self._config.timeout_s:g} s"
        finally:
            for fd in pipes:
                os.close(fd)
            if reply is None:
                await self._retire(number)
            elif not reply.clean:
                await self._retire(number, "the launcher could not remove all the evaluation left on disk")
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
