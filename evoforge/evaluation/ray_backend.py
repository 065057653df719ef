"""Evaluations on a Ray cluster: each one a Ray task running this machine's sandbox on a worker node.

Why tasks and not an actor per node: Ray places each task wherever the resources it asks for
(``ray.num_cpus_per_eval``, ``num_gpus_per_eval``, ``resources``) are free, so evaluations spread over
the nodes and a node that joins takes work at once; and Ray retries a task whose worker or node died
(``ray.max_retries``) without our bookkeeping. What an actor would give, a warm sandbox, a task gets
too: the worker process Ray reuses keeps its sandbox (ray_worker.py). A candidate's own failure
(crash, timeout, memory) is an ordinary result of the task, never an exception, so it is never
retried; only the loss of the worker is.

The controller stays the only writer of the database: a task returns plain data, turned back here
into the same ``Evaluation`` the local sandbox returns, with the id of the node that ran it.
``evaluation.parallel`` bounds the tasks in flight. A health watch asks the cluster every
``ray.health_check_s`` whether some node could run an evaluation; while none can (nodes lost, the
cluster unreachable) new evaluations wait, and after ``ray.unreachable_deadline_s`` every waiting
evaluation raises ``BackendUnavailable``, which stops the run cleanly with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import ray
from ray import exceptions as ray_errors

from evoforge.errors import ConfigError, EvaluatorError
from evoforge.evaluation.backend import BackendUnavailable
from evoforge.evaluation.inflight import InFlight
from evoforge.evaluation.ray_worker import evaluate_on_node, pack_task
from evoforge.records import Evaluation

if TYPE_CHECKING:
    from evoforge.config import Config

log = logging.getLogger(__name__)

CANCEL_WAIT_S = 5.0  # how long closing waits for cancelled tasks to report back
PROBE_S = 5.0  # how long an address may take to accept a connection, the cluster to answer a health check


class RayBackend:
    """The ``EvaluationBackend`` of ``evaluation.backend: ray`` (contract in evaluation/backend.py).

    Connects to ``ray.address`` on entering (``async with``) or on the first evaluation; disconnects on
    ``aclose()`` if it made the connection (a program that called ``ray.init`` itself keeps its own).
    """

    def __init__(self, evaluator_path: Path, config: Config, evaluator_kind: str = "evoforge") -> None:
        self._settings = config.ray
        evaluator = Path(evaluator_path).resolve()
        worker_settings = {
            "evaluator": evaluator.name,
            # one slot per task: Ray runs as many tasks at once as ``parallel`` and the nodes allow
            "evaluation": config.evaluation.model_copy(update={"parallel": 1}).model_dump(mode="json"),
            "sandbox": config.sandbox.model_dump(mode="json"),
            "score_metric": config.score_metric,
            "evaluator_kind": evaluator_kind,
        }
        self._package = pack_task(evaluator.parent)
        digest = hashlib.blake2b(self._package, digest_size=16)
        digest.update(json.dumps(worker_settings, sort_keys=True).encode())
        self._key = digest.hexdigest()
        self._worker_settings = worker_settings
        self._running = InFlight(config.evaluation.parallel)
        self._parallel_chosen = "parallel" in config.evaluation.model_fields_set
        self._parallel = config.evaluation.parallel
        self._connecting = asyncio.Lock()
        self._remote: Any = None
        self._package_ref: Any = None
        self._owns_connection = False
        self._watch: asyncio.Task[None] | None = None
        self._serving = asyncio.Event()  # set while some node can run an evaluation
        self._lost: str | None = None  # why the cluster is given up (past the deadline)
        self._lost_event = asyncio.Event()
        self._refs: set[Any] = set()
        self._closed = False

    async def __aenter__(self) -> RayBackend:
        await self._connect()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None, /
    ) -> None:
        await self.aclose()

    async def _connect(self) -> None:
        async with self._connecting:
            if self._remote is not None:
                return
            if self._closed:
                raise BackendUnavailable("the Ray backend is closed")
            remote = self._task()  # first: its settings are checked without a cluster
            if not ray.is_initialized():
                self._init()  # on this (main) thread, blocking a few seconds: ray.init wants it there
                self._owns_connection = True
            self._say_if_parallel_holds_back()
            self._package_ref = ray.put(self._package)
            self._remote = remote
            self._serving.set()
            self._watch = asyncio.create_task(self._watch_cluster(), name="ray-health")

    def _say_if_parallel_holds_back(self) -> None:
        """Warn once when an unset ``evaluation.parallel`` (this machine's cores) keeps evaluations the
        cluster has room for waiting: the bound is the user's to raise, but never a silent one."""
        cpus = self._settings.num_cpus_per_eval
        if self._parallel_chosen or cpus <= 0:
            return
        room = int(ray.cluster_resources().get("CPU", 0.0) // cpus)
        if room > self._parallel:
            log.warning(
                "evaluation.parallel is not set, so at most %d evaluations run at once (this machine's "
                "cores) where the Ray cluster has room for %d: set evaluation.parallel",
                self._parallel,
                room,
            )

    def _task(self) -> Any:
        """The Ray remote function of an evaluation, with what it reserves and how it is retried."""
        options: dict[str, Any] = {
            "num_cpus": self._settings.num_cpus_per_eval,
            "num_gpus": self._settings.num_gpus_per_eval,
            "max_retries": self._settings.max_retries,
            "retry_exceptions": False,  # only a lost worker is retried, never what the candidate did
        }
        if self._settings.resources:
            options["resources"] = dict(self._settings.resources)
        if self._settings.runtime_env:
            options["runtime_env"] = dict(self._settings.runtime_env)
        try:
            return ray.remote(evaluate_on_node).options(**options)
        except (TypeError, ValueError) as error:  # Ray checks runtime_env here
            raise ConfigError(f"ray: Ray refuses these settings: {_first_line(error)}") from None

    def _init(self) -> None:
        address = self._settings.address
        _check_answers(address)
        try:
            ray.init(
                address=None if address == "local" else address,
                log_to_driver=False,  # candidates' output is captured by the sandbox, not printed
                logging_level=logging.WARNING,
                include_dashboard=False if address == "local" else None,
            )
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ConfigError(
                f"ray.address {address}: cannot connect to a Ray cluster ({_first_line(error)}); start "
                "one with `ray start --head` or name its head as host:port"
            ) from None

    def _cluster_can_serve(self) -> str | None:
        """None when the live nodes together have what one evaluation needs, else what is missing."""
        total = ray.cluster_resources()
        needs = {"CPU": self._settings.num_cpus_per_eval, "GPU": self._settings.num_gpus_per_eval}
        needs.update(self._settings.resources)
        missing = [f"{name} {need:g}" for name, need in needs.items() if need > total.get(name, 0.0)]
        return f"no live node offers {', '.join(missing)}" if missing else None

    async def _watch_cluster(self) -> None:
        """Pause new evaluations while no node can run one; give up after the deadline."""
        settings = self._settings
        since: float | None = None
        while not self._closed:
            try:
                asking = _in_daemon_thread(self._cluster_can_serve)
                problem = await asyncio.wait_for(asking, max(settings.health_check_s, PROBE_S))
            except TimeoutError:
                problem = "the cluster does not answer"
            except Exception as error:  # any failure to ask is the cluster's, not ours
                problem = f"the cluster does not answer ({type(error).__name__})"
            if problem is None:
                if since is not None:
                    log.warning("the Ray cluster serves evaluations again; the run goes on")
                since = None
                self._serving.set()
            elif since is None:
                since = time.monotonic()
                self._serving.clear()
                log.warning(
                    "the Ray cluster cannot run evaluations (%s): new evaluations wait for it, at most %g s",
                    problem,
                    settings.unreachable_deadline_s,
                )
            elif time.monotonic() - since >= settings.unreachable_deadline_s:
                deadline = settings.unreachable_deadline_s
                self._lost = f"the Ray cluster could not run evaluations for {deadline:g} s ({problem})"
                self._lost_event.set()
                return
            await asyncio.sleep(settings.health_check_s)

    async def _until_serving(self) -> None:
        if not self._serving.is_set():
            with contextlib.suppress(_Abandoned):  # lost: said below
                await _first(self._serving.wait(), self._lost_event.wait())
        if self._lost is not None:
            raise BackendUnavailable(self._lost)

    async def evaluate(
        self,
        code: str,
        filename: str = "program.py",
        files: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        call: str = "evaluate",
    ) -> Evaluation:
        """Evaluate ``code`` as ``Sandbox.evaluate`` does, in a sandbox on some node of the cluster."""
        async with self._running.turn():
            started = time.monotonic()
            await self._connect()
            await self._until_serving()
            ref = self._remote.remote(
                [self._package_ref], self._key, self._worker_settings, code, filename,
                dict(files or {}), dict(env or {}), call,
            )  # fmt: skip
            reply = await self._reply(ref)
        if "error" in reply:  # the settings cannot run on that node: the run's problem, not the candidate's
            kind = ConfigError if reply["kind"] == "ConfigError" else EvaluatorError
            raise kind(reply["error"])
        if "lost" in reply:
            return Evaluation.failure(reply["lost"], duration_s=time.monotonic() - started)
        fields = reply["evaluation"]
        fields["stage_times_s"] = tuple(fields["stage_times_s"])
        return dataclasses.replace(Evaluation(**fields), node=reply["node"])

    async def _reply(self, ref: Any) -> dict[str, Any]:
        """The task's reply; ``{"lost": why}`` when its worker was lost past every retry."""
        self._refs.add(ref)
        try:
            return await _first(_awaited(ref), self._lost_event.wait())
        except _Abandoned:
            ray.cancel(ref, force=True)
            raise BackendUnavailable(self._lost or "the Ray cluster was lost") from None
        except asyncio.CancelledError:
            ray.cancel(ref, force=True)  # kills its worker, and with it the sandbox's child
            raise
        except ray_errors.RuntimeEnvSetupError as error:
            raise ConfigError(
                f"ray.runtime_env: Ray could not set it up on a node: {_first_line(error)}"
            ) from None
        except ray_errors.RayTaskError as error:
            raise EvaluatorError(f"an evaluation failed on the Ray cluster: {_first_line(error)}") from None
        except ray_errors.RayError as error:
            retries = self._settings.max_retries
            why = f"the evaluation's Ray worker was lost ({type(error).__name__}), after {retries} retries"
            return {"lost": why}
        finally:
            self._refs.discard(ref)

    async def aclose(self) -> None:
        """Cancel the evaluations in flight (their Ray tasks are cancelled, killing their workers and
        with them the sandboxes' children), stop watching, and disconnect if this backend connected.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        refs = list(self._refs)
        await self._running.cancel()
        if refs:  # cancelled: wait until Ray says so, so that their workers are gone
            await asyncio.to_thread(ray.wait, refs, num_returns=len(refs), timeout=CANCEL_WAIT_S)
        if self._owns_connection and ray.is_initialized():
            await asyncio.to_thread(ray.shutdown)


def _check_answers(address: str) -> None:
    """ConfigError unless something listens at a ``host:port`` address: ray.init retries such an
    address for ever. (``auto`` without a cluster fails at once; ``ray://`` has its own timeout.)"""
    host, colon, port = address.rpartition(":")
    if address in ("auto", "local") or "://" in address or not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_S).close()
    except OSError as error:
        raise ConfigError(
            f"ray.address {address}: no Ray cluster answers there ({error.strerror or error}); start one "
            "with `ray start --head` or correct the address"
        ) from None


def _in_daemon_thread(function: Callable[[], Any]) -> asyncio.Future[Any]:
    """``function()`` in a thread of its own that does not hold up the interpreter's exit: a call
    into a cluster that is gone may never return."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def run() -> None:
        try:
            outcome: tuple[Any, Exception | None] = (function(), None)
        except Exception as error:  # handed to the awaiting task
            outcome = (None, error)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(_settle, future, *outcome)

    threading.Thread(target=run, name="ray-health", daemon=True).start()
    return future


def _settle(future: asyncio.Future[Any], result: Any, error: Exception | None) -> None:
    if future.done():  # its waiter gave up
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class _Abandoned(Exception):
    """The other awaitable of ``_first`` finished first."""


async def _awaited(ref: Any) -> Any:
    return await ref


async def _first(main: Any, alternative: Any) -> Any:
    """``main``'s result, or ``_Abandoned`` if ``alternative`` finishes first; both are awaited
    coroutines, the loser cancelled."""
    main_task = asyncio.ensure_future(main)
    other = asyncio.ensure_future(alternative)
    try:
        done, _ = await asyncio.wait({main_task, other}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        main_task.cancel()
        other.cancel()
        raise
    other.cancel()
    if main_task in done:
        return main_task.result()
    main_task.cancel()
    raise _Abandoned


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
