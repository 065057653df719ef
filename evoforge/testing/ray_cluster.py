"""A local multi-node Ray cluster on this machine, for the tests and benchmarks of the Ray backend.

Each node is a ``ray start --block`` process in a session of its own, as on separate machines: a head
node and any number of worker nodes, each with its own CPUs, object store and temp directory. Killing a
worker node (``kill_worker``) SIGKILLs every process of its session, its Ray workers and whatever they
started included: a machine dying, not a clean shutdown. ``stop()`` does the same to every node, so a
failed test leaves nothing running. The test process never connects to the cluster itself (it stays
free to ``ray.init`` as it likes): node states are read from the head's GCS by a short-lived
subprocess.

Facts about ``ray start`` that shaped this (Ray 2.60):
``--node-ip-address=127.0.0.1`` is replaced by the machine's reachable address, so the cluster's
address is read from the head's ``ray_current_cluster`` file; ``--temp-dir`` works per node, and must
stay short (Unix socket paths are limited to 107 bytes); ``--object-store-memory`` defaults to 30 % of
RAM per node; a killed node is declared dead after the GCS misses its health checks (about 15 s with
Ray's defaults, a few seconds with ``QUICK_FAILURE_DETECTION``).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

STARTUP_S = 180.0  # seconds on an idle machine; a 2-core machine running four test suites takes minutes
OBJECT_STORE_MB = 100  # per node; Ray's default is 30 % of RAM per node
LOG_TAIL_LINES = 25
# GCS health checks every second, five missed ones declare a node dead: about 5 s after a kill
# instead of about 15 s (Ray's defaults are 3 s and 5).
QUICK_FAILURE_DETECTION = {"RAY_health_check_period_ms": "1000", "RAY_health_check_failure_threshold": "5"}
ADDRESS_FILE = "ray_current_cluster"  # written into a node's temp dir once it runs

# The node states as the head's GCS holds them, printed as JSON {node name: [node id, alive]}; run in
# a subprocess so that the test process never holds Ray's global state or threads.
_NODES_SCRIPT = """
import json, sys, time
from ray._raylet import GcsClient
from ray.core.generated.gcs_pb2 import GcsNodeInfo
address, wanted, deadline = sys.argv[1], json.loads(sys.argv[2]), time.monotonic() + float(sys.argv[3])
client = GcsClient(address=address)
while True:
    try:
        infos = client.get_all_node_info(timeout=10).items()
    except Exception as error:  # the GCS is starting, or too busy to answer in time
        infos, failure = [], repr(error)
    seen = {i.node_name: [node_id.hex(), i.state == GcsNodeInfo.ALIVE] for node_id, i in infos}
    alive = {name for name, (_, up) in seen.items() if up}
    if wanted is None or alive == set(wanted) or time.monotonic() > deadline:
        break
    time.sleep(0.25)
print(json.dumps(seen))
"""


class RayClusterError(RuntimeError):
    """A node did not come up (or go down) in time; the message holds the tail of its log."""


def missing() -> str | None:
    """Why a Ray cluster cannot run here (install evoforge[ray]), or None."""
    if importlib.util.find_spec("ray") is None:
        return "ray is not installed (pip install 'evoforge[ray]')"
    return None


@dataclasses.dataclass
class RayNode:
    """One ``ray start --block`` process; ``pid`` is also its session id. ``node_id`` (hex) is known
    once the GCS has seen the node alive."""

    name: str
    head: bool
    process: subprocess.Popen[bytes]
    temp_dir: Path
    log_path: Path
    node_id: str | None = None
    killed: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self) -> str:
        """The last lines of the node's ``ray start`` output and of its raylet's error log."""
        parts = []
        for path in [self.log_path, *sorted(self.temp_dir.glob("session_*/logs/raylet.err"))]:
            with contextlib.suppress(OSError):
                lines = path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
                parts.append(f"--- {path}\n" + "\n".join(lines))
        return "\n".join(parts) or f"(no log in {self.temp_dir})"


class LocalRayCluster:
    """A head node and ``workers`` worker nodes on this machine, ``cpus_per_node`` CPUs each.

    ``address`` is what a driver passes as ``ray.init(address=...)`` (evoforge's ``ray.address``).
    Use it as a context manager, or call ``start()`` and ``stop()``; ``stop()`` also runs at exit.
    ``env`` is added to every node's environment (the Ray workers, hence the evaluations, inherit it).
    """

    def __init__(
        self,
        workers: int = 2,
        *,
        cpus_per_node: int = 1,
        object_store_mb: int = OBJECT_STORE_MB,
        quick_failure_detection: bool = True,
        env: Mapping[str, str] | None = None,
        startup_s: float = STARTUP_S,
    ) -> None:
        self._initial_workers = workers
        self._cpus = cpus_per_node
        self._object_store_mb = object_store_mb
        self._startup_s = startup_s
        # A token in ~/.ray/auth_token would turn on Ray's token authentication for these nodes but
        # not for the node-table query: a throwaway local cluster runs without it.
        self._env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", **(env or {})}
        if quick_failure_detection:
            self._env.update(QUICK_FAILURE_DETECTION)
        self._ray = _ray_command()
        # /tmp, not pytest's deep tmp_path: Ray's socket paths under it must stay below 107 bytes
        self.root = Path(tempfile.mkdtemp(prefix="efray-", dir="/tmp" if os.path.isdir("/tmp") else None))
        self.nodes: list[RayNode] = []
        self.address = ""
        self._stopped = False
        atexit.register(self.stop)  # removes the directory even if the cluster never starts

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> LocalRayCluster:
        """Start the head, then the worker nodes at once; return when the GCS shows them all alive."""
        try:
            head = self._launch("head", ["--head", f"--port={_free_port()}", "--include-dashboard=false"])
            self._wait_for_address_file(head)
            self.address = (head.temp_dir / ADDRESS_FILE).read_text().strip()
            for _ in range(self._initial_workers):
                self._launch_worker()
            self.wait_for_nodes()
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGKILL every process of every node (Ray's workers and what they started included), reap
        the node processes and remove the temp directories. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        kill_sessions([node.pid for node in self.nodes])
        for node in self.nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- nodes -----------------------------------------------------------------------------------

    @property
    def workers(self) -> list[RayNode]:
        """The worker nodes, in the order they were added (killed ones included)."""
        return [node for node in self.nodes if not node.head]

    def add_worker(
        self,
        *,
        num_cpus: int | None = None,
        num_gpus: int | None = None,
        resources: Mapping[str, float] | None = None,
        wait: bool = True,
    ) -> RayNode:
        """Start one more worker node (``num_gpus`` need not exist: Ray only counts them); with
        ``wait``, return once the GCS shows it alive."""
        node = self._launch_worker(num_cpus=num_cpus, num_gpus=num_gpus, resources=resources)
        if wait:
            self.wait_for_nodes()
        return node

    def kill_worker(self, index: int) -> RayNode:
        """SIGKILL worker node ``index`` (of ``workers``) with everything it runs: a machine dying. The
        GCS notices after its health checks; ``wait_for_nodes()`` waits for that."""
        node = self.workers[index]
        node.killed = True
        kill_sessions([node.pid])
        node.process.wait(timeout=10)
        return node

    def node_states(self) -> dict[str, tuple[str, bool]]:
        """{node name: (node id, alive)} as the GCS holds them now."""
        return self._query(None, 0.0)

    def alive_node_ids(self) -> set[str]:
        return {node_id for node_id, alive in self.node_states().values() if alive}

    def wait_for_nodes(self, timeout_s: float | None = None) -> None:
        """Wait until the GCS shows alive exactly the nodes not killed, and records their node ids;
        raise RayClusterError with the log of a node that is not (yet) as it should be."""
        timeout_s = self._startup_s if timeout_s is None else timeout_s
        wanted = {node.name for node in self.nodes if not node.killed}
        seen = self._query(sorted(wanted), timeout_s)
        for node in self.nodes:
            if node.name in seen:
                node.node_id = seen[node.name][0]
        alive = {name for name, (_, up) in seen.items() if up}
        if alive != wanted:
            wrong = next(n for n in self.nodes if (n.name in alive) != (n.name in wanted))
            state = "still alive" if wrong.killed else "not alive"
            raise RayClusterError(
                f"Ray node {wrong.name} is {state} after {timeout_s:g} s\n{wrong.log_tail()}"
            )

    # -- internals -------------------------------------------------------------------------------

    def _launch_worker(
        self,
        num_cpus: int | None = None,
        num_gpus: int | None = None,
        resources: Mapping[str, float] | None = None,
    ) -> RayNode:
        args = [f"--address={self.address}"]
        if num_gpus is not None:
            args.append(f"--num-gpus={num_gpus}")
        if resources:
            args.append(f"--resources={json.dumps(dict(resources))}")
        return self._launch(f"w{len(self.workers) + 1}", args, num_cpus)

    def _launch(self, role: str, args: list[str], num_cpus: int | None = None) -> RayNode:
        """Start ``ray start --block`` for one node in a session of its own, output to its log."""
        temp_dir = self.root / role
        temp_dir.mkdir()
        log_path = self.root / f"{role}.log"
        command = [
            *self._ray,
            "start",
            "--block",
            "--disable-usage-stats",
            f"--node-name={self.root.name}-{role}",
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={self._cpus if num_cpus is None else num_cpus}",
            f"--object-store-memory={self._object_store_mb * 1024 * 1024}",
            f"--temp-dir={temp_dir}",
            *args,
        ]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                start_new_session=True,
            )
        node = RayNode(f"{self.root.name}-{role}", role == "head", process, temp_dir, log_path)
        self.nodes.append(node)
        return node

    def _wait_for_address_file(self, node: RayNode) -> None:
        """Wait until ``ray start`` has written the cluster address into the node's temp dir."""
        deadline = time.monotonic() + self._startup_s
        while not (node.temp_dir / ADDRESS_FILE).is_file():
            if node.process.poll() is not None:
                raise RayClusterError(
                    f"Ray node {node.name} exited with code {node.process.returncode} while starting\n"
                    f"{node.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RayClusterError(
                    f"Ray node {node.name} did not start in {self._startup_s:g} s\n{node.log_tail()}"
                )
            time.sleep(0.2)

    def _query(self, wanted: list[str] | None, timeout_s: float) -> dict[str, tuple[str, bool]]:
        """Node states from the GCS; with ``wanted``, polled until exactly those are alive or time is up."""
        for node in self.nodes:
            if not node.killed and node.process.poll() is not None:
                raise RayClusterError(
                    f"Ray node {node.name} exited with code {node.process.returncode}\n{node.log_tail()}"
                )
        done = subprocess.run(
            [sys.executable, "-c", _NODES_SCRIPT, self.address, json.dumps(wanted), str(timeout_s)],
            capture_output=True,
            text=True,
            timeout=timeout_s + 120,  # importing ray and connecting, on a busy machine
            env=self._env,
        )
        if done.returncode != 0:
            raise RayClusterError(f"cannot read the node table of {self.address}:\n{done.stderr[-2000:]}")
        return {name: (node_id, alive) for name, (node_id, alive) in json.loads(done.stdout).items()}


def _ray_command() -> list[str]:
    """The ``ray`` command of this interpreter's environment (its Ray workers use this interpreter)."""
    script = Path(sys.executable).with_name("ray")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "ray.scripts.scripts"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_table() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, session id)} of every living process (zombies excluded)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            table[int(entry)] = (int(fields[1]), int(fields[3]))
    return table


def session_processes(sessions: list[int]) -> list[int]:
    """The living processes (zombies aside) of these sessions: what is left of nodes."""
    return [pid for pid, (_, sid) in process_table().items() if sid in sessions]


def kill_sessions(sessions: list[int]) -> None:
    """SIGKILL every process in these sessions and every descendant of one (a Ray worker's children
    may have started sessions of their own), until none is left."""
    for _ in range(50):
        table = process_table()
        doomed = {pid for pid, (_, sid) in table.items() if sid in sessions}
        grew = True
        while grew:
            more = {pid for pid, (ppid, _) in table.items() if ppid in doomed} - doomed
            doomed |= more
            grew = bool(more)
        doomed.discard(os.getpid())
        if not doomed:
            return
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
