"""The local multi-node Ray cluster the Ray backend's tests run on: nodes come up, die, and leave nothing."""

from __future__ import annotations

import subprocess
import time

import pytest

from evoforge.testing.processes import alive
from evoforge.testing.ray_cluster import (
    LocalRayCluster,
    RayClusterError,
    kill_sessions,
    missing,
    process_table,
    session_processes,
)

needs_ray = pytest.mark.skipif(missing() is not None, reason=missing() or "")


@pytest.mark.ray
@needs_ray
def test_three_nodes_come_up_one_dies_and_stop_leaves_nothing() -> None:
    with LocalRayCluster(workers=2) as cluster:
        node_ids = {node.node_id for node in cluster.nodes}
        assert len(node_ids) == 3
        assert cluster.alive_node_ids() == node_ids
        victim = cluster.kill_worker(0)
        assert session_processes([victim.pid]) == []  # its raylet and Ray workers went with it
        cluster.wait_for_nodes()
        assert cluster.node_states()[victim.name] == (victim.node_id, False)
        assert cluster.alive_node_ids() == node_ids - {victim.node_id}
        sessions = [node.pid for node in cluster.nodes]
        root = cluster.root
        assert session_processes(sessions)
    assert session_processes(sessions) == []
    assert not root.exists()


@pytest.mark.ray
@needs_ray
def test_a_node_that_cannot_start_is_named_with_its_log() -> None:
    cluster = LocalRayCluster(workers=0, object_store_mb=1)  # below Ray's minimum object store
    with pytest.raises(RayClusterError, match=r"(?s)head exited with code .*object store"):
        cluster.start()
    assert session_processes([node.pid for node in cluster.nodes]) == []


def test_a_kill_reaches_descendants_that_left_the_session() -> None:
    """A Ray worker's evaluation may start a session of its own (a sandbox launcher does): killing
    the node's session must not leave it running."""
    node = subprocess.Popen(
        ["sh", "-c", "setsid sleep 600 & echo $!; exec sleep 600"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert node.stdout is not None
    escaped = int(node.stdout.readline())
    deadline = time.monotonic() + 30
    while process_table().get(escaped, (0, 0))[1] != escaped and time.monotonic() < deadline:
        time.sleep(0.05)  # until it runs in a session of its own
    assert process_table()[escaped][1] == escaped
    kill_sessions([node.pid])
    node.wait(timeout=10)
    node.stdout.close()
    deadline = time.monotonic() + 30
    while alive(escaped) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(escaped)
