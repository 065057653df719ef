"""The local multi-node Ray cluster of these tests: a head and two worker nodes, one CPU each, on this
machine as separate processes (evoforge/testing/ray_cluster.py), stopped by PID when the tests end.
One cluster for the folder (a cluster takes ~20 s to start): a test that kills nodes adds them back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evoforge.testing.ray_cluster import LocalRayCluster, missing


@pytest.fixture(scope="package")
def ray_cluster() -> Iterator[LocalRayCluster]:
    why = missing()
    if why is not None:
        pytest.skip(why)
    with LocalRayCluster(workers=2) as cluster:
        yield cluster
