"""The evaluation backend contract, for the Ray backend on a local three-node cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evoforge.config import Config
from evoforge.evaluation.backend import EvaluationBackend, make_backend
from evoforge.testing.backend_conformance import GOOD, SETTINGS, BackendConformance, BackendFactory
from evoforge.testing.ray_cluster import LocalRayCluster, missing

pytestmark = [pytest.mark.ray, pytest.mark.skipif(missing() is not None, reason=missing() or "")]


@pytest.fixture(scope="module")
def connected(ray_cluster: LocalRayCluster) -> Iterator[LocalRayCluster]:
    """This process connected to the cluster once: the backends use that connection (as a program
    that calls ``ray.init`` itself does) instead of connecting for every check."""
    import ray

    ray.init(address=ray_cluster.address, log_to_driver=False)
    yield ray_cluster
    ray.shutdown()


@pytest.fixture
def backend_factory(connected: LocalRayCluster) -> BackendFactory:
    def make(evaluator: Path, evaluation: dict[str, Any]) -> EvaluationBackend:
        settings = {"evaluation": {**evaluation, "backend": "ray"}, "ray": {"address": connected.address}}
        return make_backend(evaluator, Config.model_validate(settings))

    return make


class TestRayBackend(BackendConformance):
    async def test_the_node_that_ran_it_is_recorded(
        self, backend_factory: BackendFactory, evaluator: Path, connected: LocalRayCluster
    ) -> None:
        async with backend_factory(evaluator, SETTINGS) as backend:
            evaluation = await backend.evaluate(GOOD)
        assert evaluation.ok and evaluation.node in {node.node_id for node in connected.nodes}
