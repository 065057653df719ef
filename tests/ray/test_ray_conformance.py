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


async def test_an_evaluation_sees_the_gpus_ray_gave_it(connected: LocalRayCluster, tmp_path: Path) -> None:
    """Ray names a task's GPUs in CUDA_VISIBLE_DEVICES; the sandbox passes on only what it is given."""
    connected.add_worker(num_gpus=1)  # Ray only counts GPUs: this machine needs none
    try:
        evaluator = tmp_path / "evaluator.py"
        evaluator.write_text(
            "import os\n\ndef evaluate(path):\n    gpu = os.environ.get('CUDA_VISIBLE_DEVICES') == '0'\n"
            "    return {'combined_score': 1.0, 'gpu': float(gpu)}\n"
        )
        settings = {
            "evaluation": {"backend": "ray"},
            "ray": {"address": connected.address, "num_gpus_per_eval": 1},
        }
        async with make_backend(evaluator, Config.model_validate(settings)) as backend:
            evaluation = await backend.evaluate(GOOD)
    finally:
        connected.kill_worker(len(connected.workers) - 1)
    assert evaluation.ok and evaluation.metrics["gpu"] == 1.0, evaluation


async def test_an_unset_parallel_that_holds_the_cluster_back_is_said(
    connected: LocalRayCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """evaluation.parallel defaults to this machine's cores: a cluster with more room gets a warning."""
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text("def evaluate(path):\n    return {'score': 1.0}\n")
    tiny = {"address": connected.address, "num_cpus_per_eval": 0.01}  # room for 100 per cluster CPU
    for evaluation, said in (({"backend": "ray"}, True), ({"backend": "ray", "parallel": 2}, False)):
        caplog.clear()
        config = Config.model_validate({"evaluation": evaluation, "ray": tiny})
        async with make_backend(evaluator, config):
            pass
        assert ("evaluation.parallel is not set" in caplog.text) is said
