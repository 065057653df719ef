"""One isolated child process per evaluation: the first sandbox layer.

Every evaluation, the initial program's too, runs in a fresh interpreter started by path (never a
fork of the controller, which would inherit its database handle and keys) in its own scratch
directory and process group, with an allow-listed environment and resource limits the child sets
on itself (``_child.py``). The controller reads stdout and stderr through capped buffers (a child
passing the cap is killed: its output is already useless and its time is better spent elsewhere),
enforces the wall-clock timeout, and kills the whole process group after every exit so no
grandchild outlives its evaluation. Nothing a candidate does raises here: it becomes a failed
Evaluation. Only controller-side problems raise (no scratch directory, no interpreter).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import signal
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.errors import EvaluatorError
from evoforge.evaluation.cgroups import SlotCgroup, cgroup_name
from evoforge.evaluation.contract import ContractError, normalize_artifacts, normalize_metrics, primary_score
from evoforge.evaluation.launch import (
    Launch,
    build_launch,
    prepare_scratch,
    release_scratch,
    remove_stage,
    stage_evaluator,
)
from evoforge.evaluation.layers import SandboxPlan, plan_sandbox
from evoforge.records import Evaluation

CONTRACT = Path(__file__).with_name("contract.py")
RESULT_CAP = 16 * 1024 * 1024
OPEN_FILES = 256
DRAIN_AFTER_KILL_S = 2.0
MIB = 1024 * 1024
PROCESSES = 256  # per slot uid; only set when slots have their own uid


@contextlib.contextmanager
def pidfd_child_watcher() -> Iterator[None]:
    """On Python 3.11, watch children with pidfds instead of one thread per child.

    The default watcher of 3.11 starts a thread for every subprocess, which costs the controller
    about 2 ms per evaluation; 3.12 and later pick pidfds by themselves. Use inside a running loop.
    """
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        yield
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = asyncio.get_event_loop_policy()
        previous = policy.get_child_watcher()
        watcher = asyncio.PidfdChildWatcher()
        watcher.attach_loop(asyncio.get_running_loop())
        policy.set_child_watcher(watcher)
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            policy.set_child_watcher(previous)


class CappedBuffer:
    """The first ``cap`` bytes of a stream; the rest is counted and dropped, so memory stays bounded."""

    def __init__(self, name: str, cap: int) -> None:
        self.name = name
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0

    def feed(self, chunk: bytes) -> bool:
        """Keep what fits; True when this chunk passed the cap."""
        room = self.cap - len(self.data)
        if len(chunk) <= room:
            self.data += chunk
            return False
        self.data += chunk[: max(room, 0)]
        self.dropped += len(chunk) - max(room, 0)
        return True

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        return f"{text}\n[truncated {self.dropped} bytes]" if self.dropped else text


class _Capture:
    """What one child sends back: capped stdout, stderr and result pipe, and when each part ends."""

    def __init__(self, output_cap: int, on_overflow: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        self.streams = {1: CappedBuffer("stdout", output_cap), 2: CappedBuffer("stderr", output_cap)}
        self.result = CappedBuffer("result", RESULT_CAP)
        self.overflowed: CappedBuffer | None = None
        self.exited = loop.create_future()  # the child itself is gone
        self.pipes_closed = loop.create_future()  # ... and every holder of stdout and stderr too
        self.result_closed = loop.create_future()
        self._on_overflow = on_overflow

    def feed(self, buffer: CappedBuffer, chunk: bytes) -> None:
        if buffer.feed(chunk) and self.overflowed is None:
            self.overflowed = buffer
            self._on_overflow()


class _ChildProtocol(asyncio.SubprocessProtocol):
    def __init__(self, capture: _Capture) -> None:
        self._capture = capture

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._capture.feed(self._capture.streams[fd], data)

    def process_exited(self) -> None:
        _settle(self._capture.exited)

    def connection_lost(self, exc: Exception | None) -> None:
        _settle(self._capture.pipes_closed)


class _ResultProtocol(asyncio.Protocol):
    def __init__(self, capture: _Capture) -> None:
        self._capture = capture

    def data_received(self, data: bytes) -> None:
        self._capture.feed(self._capture.result, data)

    def connection_lost(self, exc: Exception | None) -> None:
        _settle(self._capture.result_closed)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _remove_cgroups(cgroups: dict[int, SlotCgroup]) -> None:
    for cgroup in cgroups.values():
        cgroup.remove()
    cgroups.clear()


class Sandbox:
    """Evaluates candidate code with the task's evaluator, each time in a fresh isolated child process.

    ``plan`` is the set of isolation layers (default: every layer this machine offers, see
    layers.py). ``scratch_root`` is where the per-evaluation directories go (default: the system's).
    Call ``close()`` (or use ``with``) to remove the staged copy of the evaluator's directory.
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
        self._unstage: weakref.finalize | None = None
        if self.plan.uid_base is not None or self.plan.bwrap is not None:
            self._evaluator = stage_evaluator(evaluator)
            self._unstage = weakref.finalize(self, remove_stage, self._evaluator)
        self._free_slots = list(range(config.parallel - 1, -1, -1))
        self._cgroups: dict[int, SlotCgroup] = {}
        self._uncgroup = weakref.finalize(self, _remove_cgroups, self._cgroups)
        self._next_slot = config.parallel

    def close(self) -> None:
        self._uncgroup()
        if self._unstage is not None:
            self._unstage()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def _cgroup(self, slot: int) -> SlotCgroup | None:
        """The slot's cgroups (layer L3), made on first use."""
        if self.plan.cgroups is None:
            return None
        if slot not in self._cgroups:
            name = cgroup_name(f"{id(self):x}-{slot}")
            limits = (self._config.memory_mb * MIB, PROCESSES)
            self._cgroups[slot] = await asyncio.to_thread(SlotCgroup, self.plan.cgroups, name, *limits)
        return self._cgroups[slot]

    def _take_slot(self) -> int:
        """A slot (hence a uid) no running evaluation holds, so candidates cannot reach each other."""
        if self._free_slots:
            return self._free_slots.pop()
        self._next_slot += 1
        return self._next_slot - 1

    async def evaluate(self, code: str, filename: str = "program.py") -> Evaluation:
        """Evaluate ``code``, saved as ``filename`` in a fresh scratch directory removed afterwards."""
        started = time.monotonic()
        scratch = Path(tempfile.mkdtemp(prefix="evoforge-", dir=self._scratch_root))
        slot = self._take_slot()
        try:
            (scratch / filename).write_text(code, encoding="utf-8")
            launch = build_launch(self.plan, self._evaluator, scratch, filename, slot)
            prepare_scratch(scratch, launch.uid)
            evaluation = await self._run_child(launch, await self._cgroup(slot))
        finally:
            await asyncio.to_thread(release_scratch, scratch)  # a flooded scratch takes a while
            self._free_slots.append(slot)
        return dataclasses.replace(evaluation, duration_s=time.monotonic() - started)

    async def _run_child(self, launch: Launch, cgroup: SlotCgroup | None) -> Evaluation:
        pid: int | None = None

        def stop_flood() -> None:
            if pid is not None:
                _kill_group(pid)

        capture = _Capture(self._config.max_output_bytes, stop_flood)
        transport, result_transport = await self._spawn(launch, capture, cgroup)
        pid = transport.get_pid()
        try:
            # Wait for the child's exit, not for its pipes: forked grandchildren may hold them open.
            await asyncio.wait([capture.exited], timeout=self._config.timeout_s)
            timed_out = not capture.exited.done()
            _kill_group(pid)
            await asyncio.wait([capture.pipes_closed, capture.result_closed], timeout=DRAIN_AFTER_KILL_S)
        finally:
            _kill_group(pid)
            if cgroup is not None:
                await cgroup.kill()
            try:
                if not capture.exited.done():  # cancelled midway: reap the child before leaving
                    await asyncio.wait([capture.exited], timeout=DRAIN_AFTER_KILL_S)
            finally:
                transport.close()
                result_transport.close()
        return self._interpret(capture, transport.get_returncode(), timed_out)

    async def _spawn(
        self, launch: Launch, capture: _Capture, cgroup: SlotCgroup | None
    ) -> tuple[asyncio.SubprocessTransport, asyncio.ReadTransport]:
        """Start the child with its result pipe and send it the request."""
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        result_pipe = open(read_fd, "rb", buffering=0)  # noqa: SIM115 (its transport closes it)
        try:
            result_transport, _ = await loop.connect_read_pipe(lambda: _ResultProtocol(capture), result_pipe)
        except BaseException:
            result_pipe.close()
            os.close(write_fd)
            raise
        try:
            transport, _ = await loop.subprocess_exec(
                lambda: _ChildProtocol(capture),
                *launch.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=launch.cwd,
                env=launch.env,
                start_new_session=True,  # its own process group, killed as a whole
                pass_fds=(write_fd,),
                **launch.identity,
            )
        except BaseException as error:
            result_transport.close()
            if isinstance(error, OSError):
                message = f"cannot start the evaluation child {launch.argv[0]}: {error}"
                raise EvaluatorError(message) from None
            raise
        finally:
            os.close(write_fd)
        request = {
            "evaluator": str(launch.evaluator),
            "program": str(launch.program),
            "site_dirs": list(self.plan.site_dirs),
            "seccomp": self.plan.seccomp,
            "subreaper": self.plan.bwrap is None,
            "contract": str(CONTRACT),
            "result_fd": write_fd,
            "limits": self._limits,
        }
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        if cgroup is not None:
            try:
                await asyncio.to_thread(cgroup.join, transport.get_pid())
            except OSError as error:
                _kill_group(transport.get_pid())
                transport.close()
                result_transport.close()
                raise EvaluatorError(f"cannot place the evaluation in its cgroup: {error}") from None
            stdin.write(b"\n")  # the shim's signal to become the real command
        stdin.write(json.dumps(request).encode())
        stdin.close()
        return transport, result_transport

    def _interpret(self, capture: _Capture, returncode: int | None, timed_out: bool) -> Evaluation:
        artifacts = {buffer.name: buffer.text() for buffer in capture.streams.values() if buffer.data}
        if timed_out:
            return Evaluation.failure(f"timeout after {self._config.timeout_s:g} s", artifacts)
        flood = capture.overflowed
        if flood is not None:
            error = f"output limit exceeded: more than {flood.cap} bytes on {flood.name}"
            return Evaluation.failure(error, artifacts)
        if not capture.result.data:
            return Evaluation.failure(self._exit_reason(returncode), artifacts)
        try:
            answer = json.loads(capture.result.data)
        except ValueError:
            return Evaluation.failure("the result was not valid JSON", artifacts)
        if not isinstance(answer, dict):
            return Evaluation.failure("the result was not a JSON object", artifacts)
        try:
            extra = normalize_artifacts(answer.get("artifacts"))
            if not answer.get("ok"):
                error = str(answer.get("error") or "the evaluation failed")
                return Evaluation.failure(error, artifacts | extra)
            # Validate again here: never trust what was computed next to the candidate.
            metrics = normalize_metrics(answer.get("metrics"))
            score = primary_score(metrics, self._score_metric)
        except ContractError as error:
            return Evaluation.failure(f"invalid result: {error}", artifacts)
        return Evaluation(
            metrics={name: float(value) for name, value in metrics.items()},
            artifacts=artifacts | extra,  # the evaluator's own artifacts win over captured output
            score=score,
            ok=True,
        )

    def _exit_reason(self, returncode: int | None) -> str:
        if self.plan.bwrap is not None and returncode is not None and returncode > 128:
            returncode = 128 - returncode  # bubblewrap reports a signal death as 128 + signal
        if returncode is None or returncode >= 0:
            return f"exited with code {returncode} before returning a result"
        number = -returncode
        if number == signal.SIGXCPU:
            return f"CPU time limit exceeded ({self._limits['cpu_s']} s)"
        name = signal.Signals(number).name if number in signal.valid_signals() else f"number {number}"
        hint = " (memory or CPU limit?)" if number == signal.SIGKILL else ""
        return f"killed by signal {name}{hint}"
