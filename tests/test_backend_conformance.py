"""The evaluation backend contract, for the local backend (this machine's sandbox)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evoforge.config import Config
from evoforge.evaluation.backend import EvaluationBackend, make_backend
from evoforge.testing.backend_conformance import BackendConformance, BackendFactory


@pytest.fixture
def backend_factory() -> BackendFactory:
    def make(evaluator: Path, evaluation: dict[str, Any]) -> EvaluationBackend:
        return make_backend(evaluator, Config.model_validate({"evaluation": evaluation}))

    return make


class TestLocalBackend(BackendConformance):
    pass
