"""The dashboard's web application: HTML pages, the JSON API behind them and a live event stream.

A separate read-only process over one or more run databases (``queries.RunReader``): it never writes,
so stopping or crashing it can never touch a run. Pages are rendered by Jinja2 on the server (the
program view needs no script to show its code); charts are drawn in the browser with the vendored
uPlot from the JSON API, and kept live by server-sent events: the stream says when the run has new
programs, and the page fetches just those (``/series?after=<id>``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from evoforge.dashboard import schema
from evoforge.dashboard.highlight import highlight_code, highlight_diff
from evoforge.dashboard.queries import MAX_SERIES_POINTS, RunReader

STREAM_POLL_S = 0.5  # how often the event stream looks for new programs
STREAM_KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
HERE = Path(__file__).parent
AfterId = Annotated[int, Query(ge=-1, le=2**62, description="Only ids above this one.")]
ProgramId = Annotated[int, PathParam(ge=0, le=2**62)]


def create_app(runs: dict[str, RunReader]) -> FastAPI:
    """The application over ``runs`` (name → reader); the names are the URL segments of the runs."""
    app = FastAPI(
        title="evoforge dashboard",
        version="1",
        description="Read-only JSON API over evoforge runs (see docs/dashboard.md).",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        responses={404: {"model": schema.NotFound, "description": "No such run or program."}},
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    pages = Environment(
        loader=PackageLoader("evoforge.dashboard", "templates"), autoescape=select_autoescape()
    )
    for (
        template
    ) in pages.list_templates():  # compiled (and Pygments' lexers loaded) now, not on a first visit
        pages.get_template(template)
    highlight_diff(highlight_code("x = 1\n"))

    def reader(run: str) -> RunReader:
        found = runs.get(run)
        if found is None:
            raise HTTPException(404, f"no run named {run!r}")
        return found

    def page(template: str, **context: Any) -> HTMLResponse:
        html = pages.get_template(template).render(runs=sorted(runs), **context)
        return HTMLResponse(html)

    # --- JSON API ---------------------------------------------------------------------------------

    @app.get("/api/runs", response_model=schema.RunList)
    def list_runs() -> dict[str, Any]:
        """The runs this dashboard serves."""
        return {"runs": sorted(runs)}

    @app.get("/api/runs/{run}/summary", response_model=schema.Summary)
    def summary(run: str) -> dict[str, Any]:
        """Counts, rates, failures by kind, tokens, per-model and per-operator outcomes, config."""
        return reader(run).summary()

    @app.get("/api/runs/{run}/series", response_model=schema.Series)
    def series(
        run: str, after: AfterId = -1, max_points: Annotated[int, Query(ge=1, le=100_000)] = MAX_SERIES_POINTS
    ) -> dict[str, Any]:
        """Score of each program with an id above ``after`` (downsampled beyond ``max_points``)."""
        return reader(run).series(after, max_points)

    @app.get("/api/runs/{run}/best", response_model=schema.BestCurve)
    def best_curve(run: str) -> dict[str, Any]:
        """The best-so-far curve, as its improvements."""
        return reader(run).best_curve()

    @app.get("/api/runs/{run}/programs", response_model=schema.ProgramPage)
    def programs(
        run: str, after: AfterId = -1, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> dict[str, Any]:
        """Programs (without code) with an id above ``after``, oldest first."""
        return reader(run).programs(after, limit)

    @app.get(
        "/api/runs/{run}/programs/{program_id}",
        response_model=schema.ProgramDetail,
    )
    def program(run: str, program_id: ProgramId) -> dict[str, Any]:
        """One program: code, metrics, artifacts, diff to parent, its model call, its children."""
        found = reader(run).program(program_id)
        if found is None:
            raise HTTPException(404, f"no program with id {program_id} in run {run!r}")
        return found

    @app.get(
        "/api/runs/{run}/lineage/{program_id}",
        response_model=schema.Lineage,
    )
    def lineage(run: str, program_id: ProgramId) -> dict[str, Any]:
        """A program's ancestors and descendants."""
        found = reader(run).lineage(program_id)
        if found is None:
            raise HTTPException(404, f"no program with id {program_id} in run {run!r}")
        return found

    @app.get("/api/runs/{run}/archive", response_model=schema.Archive)
    def archive(run: str) -> dict[str, Any]:
        """The MAP-Elites grid of each island and the island event table when the run has one."""
        return reader(run).archive()

    @app.get("/api/compare", response_model=schema.Compare)
    def compare(run: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
        """Best-so-far curves of several runs (all of them when none is named)."""
        return {"runs": [reader(name).best_curve() for name in (run or sorted(runs))]}

    @app.get("/api/runs/{run}/stream", include_in_schema=False)
    async def stream(run: str, request: Request) -> StreamingResponse:
        """Server-sent events: ``progress`` with the last program id whenever the run changed."""
        watched = reader(run)
        return StreamingResponse(_events(watched, request), media_type="text/event-stream")

    # --- pages ------------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        if len(runs) == 1:
            return RedirectResponse(f"/runs/{next(iter(runs))}")
        return page("index.html", summaries=[runs[name].summary() for name in sorted(runs)])

    @app.get("/runs/{run}", include_in_schema=False)
    def run_page(run: str) -> HTMLResponse:
        found = reader(run).summary()
        return page("run.html", run=run, summary=found, config=json.dumps(found["config"], indent=2))

    @app.get("/runs/{run}/archive", include_in_schema=False)
    def archive_page(run: str) -> HTMLResponse:
        return page("archive.html", run=run, archive=reader(run).archive())

    @app.get("/runs/{run}/lineage", include_in_schema=False)
    def best_lineage_page(run: str) -> Response:
        best = reader(run).summary()["best_program_id"]
        return RedirectResponse(f"/runs/{run}/lineage/{best if best is not None else 0}")

    @app.get("/runs/{run}/lineage/{program_id}", include_in_schema=False)
    def lineage_page(run: str, program_id: ProgramId) -> HTMLResponse:
        return page("lineage.html", run=run, program_id=program_id)

    @app.get("/runs/{run}/programs/{program_id}", include_in_schema=False)
    def program_page(run: str, program_id: ProgramId) -> HTMLResponse:
        found = reader(run).program(program_id)
        if found is None:
            raise HTTPException(404, f"no program with id {program_id} in run {run!r}")
        return page(
            "program.html",
            run=run,
            program=found,
            code=highlight_code(found["code"]),
            diff=highlight_diff(found["diff"]) if found["diff"] else None,
        )

    @app.get("/compare", include_in_schema=False)
    def compare_page() -> HTMLResponse:
        return page("compare.html", run=None)

    return app


async def _events(reader: RunReader, request: Request) -> AsyncIterator[str]:
    """Yield a ``progress`` event at once and then whenever the run's last ids change."""
    seen: tuple[int, int] | None = None
    quiet = 0.0
    while not await request.is_disconnected():
        now = await asyncio.to_thread(reader.progress)
        if now != seen:
            seen = now
            quiet = 0.0
            yield f"event: progress\ndata: {json.dumps({'last_id': now[0], 'failures': now[1]})}\n\n"
        elif quiet >= STREAM_KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(STREAM_POLL_S)
        quiet += STREAM_POLL_S
