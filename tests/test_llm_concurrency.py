"""One knob for model concurrency: a model's limit follows llm.max_inflight unless set; a cap is said once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import evoforge
from evoforge.config import LLMConfig, ModelConfig
from evoforge.llm import Ensemble
from evoforge.testing.responders import gathering, tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import write_task

IN_FLIGHT = 64


def test_a_run_with_64_in_flight_sends_64_calls_at_once_to_its_one_model(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    with ScriptedServer(gathering(tweak_constants_responder(seed=2), IN_FLIGHT)) as server:
        result = evoforge.evolve(
            task,
            run_dir=tmp_path / "run",
            iterations=IN_FLIGHT + 1,
            llm__max_inflight=IN_FLIGHT,
            llm__models=[{"name": "scripted", "base_url": server.base_url}],
        )
        assert server.max_concurrent == IN_FLIGHT
    assert result.evaluated == IN_FLIGHT + 1


def models(*limits: int | None) -> list[ModelConfig]:
    return [
        ModelConfig(name=f"m{i}", base_url="http://127.0.0.1:9/v1", max_concurrency=limit)
        for i, limit in enumerate(limits)
    ]


@pytest.mark.parametrize(
    ("limits", "warned"),
    [((8, 8), True), ((8, None), False), ((32, 32), False), ((None,), False)],
    ids=["capped", "one-follows", "enough", "default"],
)
async def test_models_that_cap_max_inflight_are_said_once_at_start(
    caplog: pytest.LogCaptureFixture, limits: tuple[int | None, ...], warned: bool
) -> None:
    with caplog.at_level(logging.WARNING, logger="evoforge.llm.ensemble"):
        ensemble = Ensemble(LLMConfig(models=models(*limits), max_inflight=IN_FLIGHT))
        await ensemble.aclose()
    lines = [r.getMessage() for r in caplog.records if "max_inflight" in r.getMessage()]
    expected = "llm.max_inflight is 64 but the models' max_concurrency allow 16 calls at once"
    assert [line.startswith(expected) for line in lines] == ([True] if warned else [])
