"""Fixtures of the hostile suites: the layer combination a case runs under, and a bystander process."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from evoforge.evaluation.layers import SandboxPlan
from evoforge.testing.hostile import MARKER, processes_with
from evoforge.testing.layers import NAMES, layer_combinations


@pytest.fixture(scope="module", params=NAMES)
def layer_plan(request: pytest.FixtureRequest) -> SandboxPlan:
    """Each layer combination this machine offers; one it cannot build is a skip saying why."""
    plan, why = layer_combinations()[request.param]
    if plan is None:
        pytest.skip(why)
    return plan


@pytest.fixture(scope="module")
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A process of the controller's uid that no candidate may kill."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def untouched(bystander: subprocess.Popen[bytes]) -> Iterator[None]:
    """After the case: the bystander lives and nothing the candidate started remains."""
    yield
    assert bystander.poll() is None, "a candidate killed a process of the controller's uid"
    assert not processes_with(MARKER), "a candidate's process outlived its evaluation"
