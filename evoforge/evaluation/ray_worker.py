"""The worker side of the Ray backend: what a Ray task runs on its node (never in the controller).

A task hands the candidate to a local ``Sandbox`` of one slot, the very sandbox the local backend uses
(its layers planned on this node, its limits, its scratch directory), and returns the Evaluation as
plain data with this node's id. The candidate runs only in the sandbox's child, never in the Ray
worker process. The task folder travels as a tarball in Ray's object store (``pack_task``), fetched
and unpacked once per worker process; the sandbox is kept per worker process, keyed by that folder
and the settings, so its warm launcher serves every later evaluation of the run.

The sandbox lives on an event loop of its own thread, started once per worker process and kept to
its end: a launcher's parent-death signal follows the thread that started it, so when Ray kills this
worker (a cancelled evaluation, the end of the job) the launchers and their evaluations die with it.
No exit handler of a worker can be relied on (none ran in our tests), so what it leaves on disk the
next worker on the machine removes: the sandbox's own files by their leases (leftovers.py), the
unpacked task folders by their pid (``sweep_unpacked``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import shutil
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

from evoforge.errors import EvoforgeError
from evoforge.evaluation.staging import is_private

TASK_FOLDER = "task"  # the folder's name inside the tarball
UNPACKED = "evoforge-ray-task-"  # + the worker's pid: where a worker process unpacks task folders
GPU_VARIABLES = ("CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")


def pack_task(folder: Path) -> bytes:
    """The task folder as a gzipped tarball, without what staging leaves out (runs, hidden files,
    caches) and without links, which staging's copy does not follow either."""

    def keep(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if member.name != TASK_FOLDER and is_private(
            str(folder / Path(member.name).relative_to(TASK_FOLDER))
        ):
            return None  # a directory left out takes its contents with it
        return member if member.isfile() or member.isdir() else None

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=TASK_FOLDER, filter=keep)
    return buffer.getvalue()


def sweep_unpacked(directory: Path) -> None:
    """Remove the task folders that worker processes now gone unpacked in ``directory``: a worker
    killed by Ray (a cancelled evaluation, the end of a job) does not remove its own."""
    for entry in directory.glob(f"{UNPACKED}*-*"):
        pid = entry.name.removeprefix(UNPACKED).split("-")[0]
        if not pid.isdigit() or entry.is_symlink() or entry.stat().st_uid != os.geteuid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except PermissionError:
            pass  # alive, another user's


class _Worker:
    """This worker process's event loop thread and sandboxes (one per task folder and settings)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sandboxes: dict[str, tuple[Any, Path]] = {}

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="evoforge-sandbox", daemon=True).start()
                self._loop = loop
            return self._loop

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop()).result()

    def sandbox(self, package: list[Any], key: str, settings: dict[str, Any]) -> Any:
        """The sandbox of this task folder and settings, made on first use."""
        if key in self._sandboxes:
            return self._sandboxes[key][0]
        import ray

        from evoforge.config import SandboxConfig
        from evoforge.evaluation.layers import plan_sandbox
        from evoforge.evaluation.sandbox import Sandbox
        from evoforge.evaluation.settings import EvaluationConfig

        sweep_unpacked(Path(tempfile.gettempdir()))
        root = Path(tempfile.mkdtemp(prefix=f"{UNPACKED}{os.getpid()}-"))
        try:
            with tarfile.open(fileobj=io.BytesIO(ray.get(package[0])), mode="r:gz") as tar:
                tar.extractall(root, filter="data")
            sandbox = Sandbox(
                root / TASK_FOLDER / settings["evaluator"],
                EvaluationConfig.model_validate(settings["evaluation"]),
                score_metric=settings["score_metric"],
                plan=plan_sandbox(SandboxConfig.model_validate(settings["sandbox"])),
                evaluator_kind=settings["evaluator_kind"],
            )
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        self._sandboxes[key] = (sandbox, root)
        return sandbox

    def drop(self, key: str) -> None:
        """Close and forget a sandbox that cannot serve (its settings fail on this node)."""
        sandbox, root = self._sandboxes.pop(key, (None, None))
        if sandbox is not None:
            self.run(sandbox.aclose())
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


_WORKER = _Worker()


def evaluate_on_node(
    package: list[Any],
    key: str,
    settings: dict[str, Any],
    code: str,
    filename: str,
    files: dict[str, str],
    env: dict[str, str],
    call: str,
) -> dict[str, Any]:
    """The Ray task: evaluate ``code`` in this node's sandbox. ``package`` holds the ObjectRef of the
    task folder (in a list, so that Ray does not fetch it for every evaluation).

    Returns ``{"evaluation": fields, "node": node id}``, or ``{"error": message, "kind": class name}``
    when the settings cannot run on this node (a controller-side problem, not the candidate's)."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    # Ray gives a task its GPUs through these variables; the sandbox passes on only what it is given.
    env = {**{name: os.environ[name] for name in GPU_VARIABLES if name in os.environ}, **env}
    try:
        sandbox = _WORKER.sandbox(package, key, settings)
        evaluation = _WORKER.run(sandbox.evaluate(code, filename, files, env, call))
    except EvoforgeError as error:
        _WORKER.drop(key)
        return {"error": f"on Ray node {node}: {error}", "kind": type(error).__name__}
    return {"evaluation": dataclasses.asdict(evaluation), "node": node}
