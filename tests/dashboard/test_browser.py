"""The dashboard in headless Chromium, against a run made by the scripted server: every view loads
without console errors, the score chart has a point per program, a grid cell opens its elite, and a
program stored after the page opened shows up within 3 seconds through the event stream."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evoforge.records import Candidate, Evaluation
from evoforge.storage import SQLiteStore
from evoforge.testing.dashboard import serving

pytestmark = pytest.mark.browser
LIVE_WITHIN_MS = 3000
VIEWS = {
    "run": "/runs/run",
    "archive": "/runs/run/archive",
    "lineage": "/runs/run/lineage",
    "program": "/runs/run/programs/{best}",
    "compare": "/compare",
}


def program_count(run_dir: Path) -> int:
    with sqlite3.connect(f"file:{run_dir / 'evoforge.db'}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM programs").fetchone()[0])


class Page:
    """A browser page that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        return self.page


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    opened = Page(browser)
    yield opened
    opened.page.close()


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_each_view_loads_without_console_errors(
    page: Page, dashboard: str, view: str, artifacts: Path
) -> None:
    best = httpx.get(f"{dashboard}/api/runs/run/summary").json()["best_program_id"]
    shown = page.open(dashboard + VIEWS[view].format(best=best))
    shown.screenshot(path=str(artifacts / f"dashboard-{view}.png"), full_page=True)
    assert page.errors == []
    assert shown.locator("main h1").count() == 1


def test_the_score_chart_has_a_point_per_program_in_the_database(
    page: Page, dashboard: str, run_dir: Path
) -> None:
    shown = page.open(f"{dashboard}/runs/run")
    points = shown.evaluate("window.evoforge.charts.score.data[0].length")
    assert points == program_count(run_dir) > 1
    assert page.errors == []


def test_clicking_a_grid_cell_opens_its_elite(page: Page, dashboard: str) -> None:
    archive = httpx.get(f"{dashboard}/api/runs/run/archive").json()
    island = archive["islands"][-1]
    cell = island["cells"][0]
    shown = page.open(f"{dashboard}/runs/run/archive")
    target = shown.locator(f".grid[data-island='{island['island']}'] .cell").first
    assert target.get_attribute("data-program") == str(cell["program_id"])
    target.click()
    shown.wait_for_url(f"**/runs/run/programs/{cell['program_id']}")
    assert shown.locator("main h1").inner_text().startswith(f"Program #{cell['program_id']}")
    assert page.errors == []


def test_a_program_stored_after_the_page_opened_appears_within_3_seconds(
    page: Page, run_dir: Path, tmp_path: Path
) -> None:
    live = tmp_path / "live"
    shutil.copytree(run_dir, live)
    before = program_count(live)
    with serving(live) as url:
        shown = page.open(f"{url}/runs/live")
        assert shown.evaluate("window.evoforge.charts.score.data[0].length") == before
        with SQLiteStore.open(live) as store:  # the controller's side: one more evaluated program
            parent = store.best_program()
            assert parent is not None
            candidate = Candidate(store.max_submission() + 1, parent.code, parent.id, (), 0, 1, "llm")
            evaluation = Evaluation({"combined_score": parent.score + 1.0}, {}, parent.score + 1.0, True)
            store.add_program(candidate, evaluation, dict(parent.features))
        shown.wait_for_function(
            f"window.evoforge.charts.score.data[0].length === {before + 1}", timeout=LIVE_WITHIN_MS
        )
        shown.wait_for_function(
            f"document.querySelector('[data-field=evaluated]').textContent === '{before + 1}'",
            timeout=LIVE_WITHIN_MS,
        )
    assert page.errors == []
