"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.testing.tasks import write_task


@pytest.fixture
def toy_task(tmp_path: Path) -> Path:
    return write_task(tmp_path)
