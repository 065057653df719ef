"""Fixtures of the dashboard tests: one scripted run, the real dashboard serving it, a browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from evoforge.testing.dashboard import CHROMIUM, scripted_run, serving

NO_EXTRA = "the dashboard extra is not installed: pip install 'evoforge[dashboard]'"


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one finished run, ``run``, made through the command line and the scripted server."""
    root = tmp_path_factory.mktemp("runs")
    scripted_run(root)
    shutil.rmtree(root / "toy")  # leave only runs in the folder
    return root


@pytest.fixture(scope="session")
def run_dir(runs_root: Path) -> Path:
    return runs_root / "run"


@pytest.fixture(scope="session")
def dashboard(run_dir: Path) -> Iterator[str]:
    """The base URL of `evoforge dashboard` serving ``run_dir`` (never written by any test)."""
    pytest.importorskip("fastapi", reason=NO_EXTRA)
    with serving(run_dir) as url:
        yield url


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $EVOFORGE_TEST_ARTIFACTS (CI keeps it), else the session's temp folder."""
    chosen = os.environ.get("EVOFORGE_TEST_ARTIFACTS")
    folder = Path(chosen) if chosen else tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright; a skip that says why where either is missing.

    Module-scoped: Playwright's sync API keeps an event loop running in this thread while it is
    started, so every later test that runs asyncio would fail while it lives (the whole suite did)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (evoforge[dev])"
    )
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()
