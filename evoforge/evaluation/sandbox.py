"""One isolated child process per evaluation: the first sandbox layer.

Every evaluation, the initial program's too, runs in a fresh interpreter (never a fork of the
controller, which would inherit its database handle and keys) in its own scratch directory and
process group, with an allow-listed environment, resource limits set by the child itself, output
read through capped readers, a wall-clock timeout that kills the whole group, and a kill of the
group after every exit so no grandchild outlives its evaluation. Nothing a candidate does raises
here: it becomes a failed Evaluation.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from evoforge.config import EvaluationConfig
from evoforge.evaluation.contract import ContractError, primary_score
from evoforge.records import Evaluation

CHILD = Path(__file__).with_name("_child.py")
CONTRACT = Path(__file__).with_name("contract.py")
RESULT_CAP = 16 * 1024 * 1024
CHUNK = 1 << 16
OPEN_FILES = 256
DRAIN_AFTER_KILL_S = 2.0
SINGLE_THREAD_MATH = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


async def read_capped(
    stream: asyncio.StreamReader, cap: int, on_overflow: Callable[[], None] | None = None
) -> tuple[bytes, int]:
    """Read ``stream`` to its end keeping at most ``cap`` bytes; return (kept, dropped byte count).

    ``on_overflow`` runs once when the cap is passed (the sandbox kills the flooding process there).
    """
    kept = bytearray()
    dropped = 0
    while chunk := await stream.read(CHUNK):
        room = cap - len(kept)
        if room > 0:
            kept += chunk[:room]
        overflow = max(0, len(chunk) - max(room, 0))
        if overflow and not dropped and on_overflow is not None:
            on_overflow()
        dropped += overflow
    return bytes(kept), dropped


def _text(data: bytes, dropped: int) -> str:
    text = data.decode("utf-8", errors="replace")
    return f"{text}\n[truncated {dropped} bytes]" if dropped else text


def child_environment(scratch: Path) -> dict[str, str]:
    """An allow-listed environment: no API keys, nothing of the controller's but a PATH and a locale."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(dict.fromkeys(SINGLE_THREAD_MATH, "1"))
    return env


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


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class Sandbox:
    """Evaluates candidate code with the task's evaluator in isolated child processes."""

    def __init__(
        self,
        evaluator_path: Path,
        config: EvaluationConfig,
        score_metric: str | None = None,
        python: str | None = None,
        scratch_root: Path | None = None,
    ) -> None:
        self._evaluator = Path(evaluator_path).resolve()
        self._config = config
        self._score_metric = score_metric
        self._python = python or sys.executable
        self._scratch_root = scratch_root

    async def evaluate(self, code: str, filename: str = "program.py") -> Evaluation:
        """Evaluate ``code`` (saved as ``filename`` in a fresh scratch directory)."""
        started = time.monotonic()
        scratch = Path(tempfile.mkdtemp(prefix="evoforge-", dir=self._scratch_root))
        try:
            program = scratch / filename
            program.write_text(code, encoding="utf-8")
            evaluation = await self._run_child(scratch, program)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return dataclasses.replace(evaluation, duration_s=time.monotonic() - started)

    async def _run_child(self, scratch: Path, program: Path) -> Evaluation:
        config = self._config
        read_fd, write_fd = os.pipe()
        request = {
            "evaluator": str(self._evaluator),
            "program": str(program),
            "contract": str(CONTRACT),
            "result_fd": write_fd,
            "limits": {
                "cpu_s": math.ceil(config.cpu_s or config.timeout_s),
                "memory_mb": config.memory_mb,
                "file_mb": config.max_file_mb,
                "nofile": OPEN_FILES,
            },
        }
        try:
            process = await asyncio.create_subprocess_exec(
                self._python,
                "-P",  # keep this package's directory off the child's sys.path
                str(CHILD),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=scratch,
                env=child_environment(scratch),
                start_new_session=True,
                pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        loop = asyncio.get_running_loop()
        result_reader = asyncio.StreamReader(limit=RESULT_CAP)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(result_reader), os.fdopen(read_fd, "rb", buffering=0)
        )
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        overflowed: list[str] = []

        def stop_flood(stream: str) -> Callable[[], None]:
            def kill() -> None:
                overflowed.append(stream)
                _kill_group(process.pid)

            return kill

        readers = [
            asyncio.ensure_future(read_capped(process.stdout, config.max_output_bytes, stop_flood("stdout"))),
            asyncio.ensure_future(read_capped(process.stderr, config.max_output_bytes, stop_flood("stderr"))),
            asyncio.ensure_future(read_capped(result_reader, RESULT_CAP, stop_flood("result"))),
        ]
        waiting = asyncio.ensure_future(process.wait())
        try:
            process.stdin.write(json.dumps(request).encode())
            with contextlib.suppress(ConnectionError):
                await process.stdin.drain()
            process.stdin.close()
            # The result pipe closes when the child exits; process.wait() alone would also wait for
            # grandchildren that hold stdout open (asyncio on 3.11 waits for every pipe to close).
            done, _ = await asyncio.wait({readers[2]}, timeout=config.timeout_s)
            timed_out = not done
            _kill_group(process.pid)
            await asyncio.wait([*readers, waiting], timeout=DRAIN_AFTER_KILL_S)
        finally:
            _kill_group(process.pid)
            if not waiting.done():  # cancelled midway: reap the child before leaving
                await asyncio.wait([waiting], timeout=DRAIN_AFTER_KILL_S)
            for task in (*readers, waiting):
                task.cancel()
            transport.close()
        outputs = [task.result() if task.done() and not task.cancelled() else (b"", 0) for task in readers]
        return self._interpret(process.returncode, timed_out, overflowed, *outputs)

    def _interpret(
        self,
        returncode: int | None,
        timed_out: bool,
        overflowed: list[str],
        stdout: tuple[bytes, int],
        stderr: tuple[bytes, int],
        result: tuple[bytes, int],
    ) -> Evaluation:
        artifacts = {name: _text(*data) for name, data in (("stdout", stdout), ("stderr", stderr)) if data[0]}
        if timed_out:
            return Evaluation.failure(f"timeout after {self._config.timeout_s:g} s", artifacts)
        if overflowed:
            limit = self._config.max_output_bytes if overflowed[0] != "result" else RESULT_CAP
            return Evaluation.failure(
                f"output limit exceeded: more than {limit} bytes on {overflowed[0]}", artifacts
            )
        if not result[0]:
            return Evaluation.failure(self._exit_reason(returncode), artifacts)
        try:
            answer = json.loads(result[0])
        except ValueError:
            return Evaluation.failure("the evaluation returned a result that is not valid JSON", artifacts)
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = answer.get("error") if isinstance(answer, dict) else None
            extra = answer.get("artifacts") if isinstance(answer, dict) else None
            merged = {**artifacts, **{str(k): str(v) for k, v in (extra or {}).items()}}
            return Evaluation.failure(str(error or "the evaluation failed"), merged)
        return self._success(answer, artifacts)

    def _success(self, answer: dict[str, object], artifacts: dict[str, str]) -> Evaluation:
        """Re-validate the child's metrics here: never trust a score computed next to the candidate."""
        metrics = answer.get("metrics")
        flags = answer.get("flags") or []
        extra = answer.get("artifacts") or {}
        if not isinstance(metrics, dict) or not isinstance(extra, dict) or not isinstance(flags, list):
            return Evaluation.failure("the evaluation returned a malformed result", artifacts)
        try:
            clean = {str(k): float(v) for k, v in metrics.items()}
            if any(math.isnan(v) or v == math.inf for v in clean.values()):
                raise ContractError("a metric is NaN or +inf")
            score = primary_score(clean, self._score_metric, {str(f) for f in flags})
        except (TypeError, ValueError, ContractError) as error:
            return Evaluation.failure(f"invalid result: {error}", artifacts)
        merged = {**{str(k): str(v) for k, v in extra.items()}, **artifacts}
        return Evaluation(metrics=clean, artifacts=merged, score=score, ok=True)

    @staticmethod
    def _exit_reason(returncode: int | None) -> str:
        if returncode is not None and returncode < 0:
            name = (
                signal.Signals(-returncode).name
                if -returncode in signal.valid_signals()
                else str(-returncode)
            )
            return f"killed by signal {name} before returning a result (memory or CPU limit?)"
        return f"exited with code {returncode} before returning a result"
