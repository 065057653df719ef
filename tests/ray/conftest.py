"""The local multi-node Ray cluster of a test module: a head and two worker nodes, one CPU each, on this
machine as separate processes (evoforge/testing/ray_cluster.py), stopped by PID when the module ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evoforge.testing.ray_cluster import LocalRayCluster, missing


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[LocalRayCluster]:
    why = missing()
    if why is not None:
        pytest.skip(why)
    with LocalRayCluster(workers=2) as cluster:
        yield cluster
