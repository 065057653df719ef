"""Whole runs (`evoforge run` in a fresh process) evaluating on a local three-node Ray cluster: the
evaluations spread over every node, a node killed mid-run loses none, a cluster that can no longer
evaluate pauses the run, which goes on when it returns and stops cleanly past the deadline, and
Ctrl-C cancels the evaluations on the cluster."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from evoforge.storage import DB_FILENAME
from evoforge.testing.hostile import processes_with
from evoforge.testing.ray_cluster import LocalRayCluster, missing
from evoforge.testing.tasks import EVALUATOR, evoforge_cli, evoforge_command, write_task

pytestmark = [pytest.mark.ray, pytest.mark.skipif(missing() is not None, reason=missing() or "")]


def sleeping(seconds: float) -> str:
    """The toy task's evaluator, slowed so that several evaluations are in flight on every node."""
    return "import time\n" + EVALUATOR.replace(
        "    value = module.solve()", f"    time.sleep({seconds})\n    value = module.solve()"
    )


SLOW = sleeping(0.2)
# A node's first evaluation waits 3.5-9 s for its Ray worker (bench/RESULTS.md): at 0.2 s an evaluation
# two warm nodes finished all 50 before the third was ready, so tests that need every node use 1 s.
STEADY = sleeping(1.0)
WAIT_S = 300.0  # generous bounds for a loaded machine; never a measurement


def config(address: str, parallel: int, **ray: object) -> str:
    settings = {"address": address, "health_check_s": 0.5, **ray}
    return (
        f"evaluation:\n  backend: ray\n  timeout_s: 30\n  parallel: {parallel}\nray: {json.dumps(settings)}\n"
    )


def query(run_dir: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(f"{(run_dir / DB_FILENAME).as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def stored(run_dir: Path) -> int:
    return (
        int(query(run_dir, "SELECT COUNT(*) FROM programs")[0][0]) if (run_dir / DB_FILENAME).exists() else 0
    )


def nodes_used(run_dir: Path) -> set[object]:
    if not (run_dir / DB_FILENAME).exists():
        return set()
    return {node for (node,) in query(run_dir, "SELECT DISTINCT node FROM programs WHERE node IS NOT NULL")}


def last_alive(cluster: LocalRayCluster) -> int:
    """The index (in ``cluster.workers``) of the worker node started last of those still alive."""
    return max(index for index, node in enumerate(cluster.workers) if not node.killed)


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert process.poll() is None, f"the run ended (code {process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.1)


def test_fifty_iterations_spread_over_every_node(ray_cluster: LocalRayCluster, tmp_path: Path) -> None:
    task = write_task(tmp_path, config(ray_cluster.address, parallel=3), evaluator=STEADY)
    run_dir = tmp_path / "run"
    result = evoforge_cli("run", str(task), "--run-dir", str(run_dir), "--iterations", "50", timeout=WAIT_S)
    assert result.returncode == 0, result.stderr
    nodes = [node for (node,) in query(run_dir, "SELECT node FROM programs")]
    assert len(nodes) == 50 and None not in nodes, "one node id recorded with every evaluation"
    assert set(nodes) == ray_cluster.alive_node_ids(), "evaluations on all three nodes"
    status = json.loads(evoforge_cli("status", str(run_dir), "--json").stdout)
    assert status["evaluations_by_node"] == {node: nodes.count(node) for node in set(nodes)}


def test_a_node_killed_mid_run_loses_no_evaluation(ray_cluster: LocalRayCluster, tmp_path: Path) -> None:
    task = write_task(tmp_path, config(ray_cluster.address, parallel=3), evaluator=STEADY)
    run_dir = tmp_path / "run"
    command = evoforge_command("run", str(task), "--run-dir", str(run_dir), "--iterations", "60")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: len(nodes_used(run_dir)) == 3, process, "every node had evaluated")
        victim = ray_cluster.kill_worker(last_alive(ray_cluster))  # while it evaluates, most likely
        _, stderr = process.communicate(timeout=WAIT_S)
    finally:
        process.kill()
        ray_cluster.add_worker()  # three nodes again for the module's other tests
    assert process.returncode == 0, stderr.decode()
    rows = query(run_dir, "SELECT node, json_extract(artifacts, '$.error') FROM programs")
    assert len(rows) == 60, "the run reached its iteration count"
    # Every evaluation ran to its end on some node (a lost one has none); failures are the candidates'
    # own (the offline mutators write broken programs too), never a lost worker.
    lost = [error for node, error in rows if node is None or "Ray worker was lost" in str(error)]
    assert lost == [], "an evaluation of the killed node was lost instead of retried"
    assert victim.node_id in nodes_used(run_dir)
    assert query(run_dir, "SELECT COUNT(*) FROM failed_generations")[0][0] == 0


def start_run(task: Path, run_dir: Path, iterations: int, log: Path) -> subprocess.Popen[bytes]:
    command = evoforge_command("run", str(task), "--run-dir", str(run_dir), "--iterations", str(iterations))
    with log.open("wb") as stderr:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)


def test_a_cluster_that_cannot_evaluate_pauses_the_run_then_stops_it(
    ray_cluster: LocalRayCluster, tmp_path: Path
) -> None:
    """Only a node with the resource ``slot`` may evaluate. Killed, the run waits for the cluster and
    goes on when a new one joins; killed in a run that waits at most 3 s, that run stops cleanly."""
    paused = "the Ray cluster cannot run evaluations (no live node offers slot 1)"
    ray_cluster.add_worker(resources={"slot": 1})
    patient = write_task(
        tmp_path, config(ray_cluster.address, 1, resources={"slot": 1}), name="a", evaluator=SLOW
    )
    log = tmp_path / "patient.txt"
    process = start_run(patient, tmp_path / "patient", 25, log)
    try:
        wait_until(lambda: stored(tmp_path / "patient") >= 5, process, "5 programs were stored")
        ray_cluster.kill_worker(last_alive(ray_cluster))
        wait_until(lambda: paused in log.read_text(), process, "the run said it waits for the cluster")
        ray_cluster.add_worker(resources={"slot": 1})
        process.wait(timeout=WAIT_S)
    finally:
        process.kill()
    text = log.read_text()
    assert process.returncode == 0, text
    assert text.count(paused) == 1 and text.count("serves evaluations again") == 1, text
    assert stored(tmp_path / "patient") == 25, "the run went on to its end"

    settings = config(ray_cluster.address, 1, resources={"slot": 1}, unreachable_deadline_s=3)
    hasty = write_task(tmp_path, settings, name="b", evaluator=SLOW)
    log = tmp_path / "hasty.txt"
    process = start_run(hasty, tmp_path / "hasty", 100_000, log)
    try:
        wait_until(lambda: stored(tmp_path / "hasty") >= 3, process, "3 programs were stored")
        ray_cluster.kill_worker(last_alive(ray_cluster))
        process.wait(timeout=WAIT_S)
    finally:
        process.kill()
    text = log.read_text()
    assert process.returncode == 0, text
    assert "stopped: the Ray cluster could not run evaluations for 3 s (no live node offers slot 1)" in text
    status = json.loads(evoforge_cli("status", str(tmp_path / "hasty"), "--json").stdout)
    assert not status["running"] and status["evaluated"] >= 3


def test_ctrl_c_cancels_the_evaluations_on_the_cluster(ray_cluster: LocalRayCluster, tmp_path: Path) -> None:
    """A child's evaluation lingers (with a process of its own) until cancelled; Ctrl-C stops the run
    cleanly and no process of any evaluation is left on any node."""
    marker = f"evoforge-ray-linger-{uuid.uuid4().hex}"
    lingering = EVALUATOR.replace(
        "    value = module.solve()",
        "    if 'x = 1.0' not in open(program_path).read():  # a child: it lingers until cancelled\n"
        f"        subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}])\n"
        "        time.sleep(600)\n"
        "    value = module.solve()",
    )
    settings = config(ray_cluster.address, 2).replace("timeout_s: 30", "timeout_s: 1200")
    task = write_task(
        tmp_path, settings, evaluator="import subprocess\nimport sys\nimport time\n" + lingering
    )
    log = tmp_path / "stderr.txt"
    process = start_run(task, tmp_path / "run", 100, log)
    try:
        wait_until(lambda: len(processes_with(marker)) == 2, process, "two evaluations lingered")
        process.send_signal(signal.SIGINT)
        process.wait(timeout=WAIT_S)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGINT, log.read_text()
    deadline = time.monotonic() + WAIT_S
    while processes_with(marker):
        assert time.monotonic() < deadline, "an evaluation's process outlived the run"
        time.sleep(0.1)
    status = json.loads(evoforge_cli("status", str(tmp_path / "run"), "--json").stdout)
    assert status["cancelled"] >= 2 and not status["running"]
