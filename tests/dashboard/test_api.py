"""The JSON API of the real dashboard process over a scripted run: the documented shapes (the pydantic
models FastAPI publishes), 404 as JSON, read-only access, and schemathesis over the OpenAPI spec."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from evoforge.dashboard import schema
from evoforge.dashboard.queries import RunReader

pytest.importorskip("schemathesis", reason="schemathesis is not installed (evoforge[dev])")


def rows(run_dir: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{run_dir / 'evoforge.db'}?mode=ro", uri=True) as db:
        return db.execute(query).fetchall()


def get(url: str, status: int = 200) -> Any:
    response = httpx.get(url, timeout=30)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def test_every_endpoint_returns_its_documented_shape(dashboard: str, run_dir: Path) -> None:
    count, best_id, best_seq = rows(run_dir, "SELECT COUNT(*), (SELECT id FROM programs WHERE ok = 1 "
                                   "ORDER BY score DESC, id LIMIT 1), (SELECT seq FROM programs WHERE ok = 1 "
                                   "ORDER BY score DESC, id LIMIT 1) FROM programs")[0]  # fmt: skip
    stored = [pid for (pid,) in rows(run_dir, "SELECT id FROM programs ORDER BY seq")]  # finishing order
    api = f"{dashboard}/api"
    assert schema.RunList.model_validate(get(f"{api}/runs")).runs == ["run"]
    summary = schema.Summary.model_validate(get(f"{api}/runs/run/summary"))
    assert (summary.evaluated, summary.best_program_id, summary.task) == (count, best_id, "toy")
    assert {m.model for m in summary.models} == {"scripted"} and summary.models[0].programs == count - 1
    assert {o.operator for o in summary.operators} == {"initial", "llm"}
    learned = summary.model_extra or {}  # what `evoforge status` shows too: arms, meta-prompts, savings
    assert {"arms", "meta_prompts", "cascade", "dedup"} <= set(learned)
    assert learned["cascade"]["rejected_by_stage"] == {"stage1": 0, "stage2": 0, "stage3": 0}
    series = schema.Series.model_validate(get(f"{api}/runs/run/series"))
    assert [p[0] for p in series.points] == list(range(count)) and series.last_id == count - 1
    later = schema.Series.model_validate(get(f"{api}/runs/run/series?after={count - 3}"))
    assert [p[0] for p in later.points] == [count - 2, count - 1]
    curve = schema.BestCurve.model_validate(get(f"{api}/runs/run/best"))
    assert curve.points[-1][0] == best_seq and curve.points[0][0] == 0  # x: the order programs were stored
    page = schema.ProgramPage.model_validate(get(f"{api}/runs/run/programs?after=2&limit=3"))
    assert [p.id for p in page.programs] == stored[3:6] and page.last_id == 5
    program = schema.ProgramDetail.model_validate(get(f"{api}/runs/run/programs/{best_id}"))
    assert program.llm_call is not None and program.llm_call.model == "scripted"
    assert program.diff is not None and program.diff.startswith(f"--- program {program.parent_id}")
    parent = schema.ProgramDetail.model_validate(get(f"{api}/runs/run/programs/{program.parent_id}"))
    assert best_id in [child.id for child in parent.children]
    lineage = schema.Lineage.model_validate(get(f"{api}/runs/run/lineage/{best_id}"))
    assert {0, best_id} <= {node.id for node in lineage.nodes} and lineage.focus == best_id
    siblings = {
        child.id for child in schema.ProgramDetail.model_validate(get(f"{api}/runs/run/programs/0")).children
    }
    assert siblings <= {node.id for node in lineage.nodes}  # the branches its ancestors did not take
    archive = schema.Archive.model_validate(get(f"{api}/runs/run/archive"))
    assert len(archive.islands) == 2 and archive.dimensions == ["code_length", "diversity"]
    assert max(i.best.score for i in archive.islands if i.best) == summary.best_score
    compare = schema.Compare.model_validate(get(f"{api}/compare"))
    assert [c.run for c in compare.runs] == ["run"]


@pytest.mark.parametrize(
    "path", ["/api/runs/run/programs/999999", "/api/runs/run/lineage/999999", "/api/runs/nope/summary"]
)
def test_an_unknown_program_or_run_is_a_404_in_json(dashboard: str, path: str) -> None:
    answer = get(dashboard + path, status=404)
    assert set(answer) == {"detail"} and "no " in answer["detail"]


def test_the_event_stream_announces_the_last_program(dashboard: str, run_dir: Path) -> None:
    (last,) = rows(run_dir, "SELECT MAX(id) FROM programs")[0]
    with httpx.stream("GET", f"{dashboard}/api/runs/run/stream", timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines) == "event: progress"
        assert next(lines) == f'data: {{"last_id": {last}, "failures": 0}}'


def test_the_reader_cannot_write_and_serving_leaves_the_database_unchanged(
    dashboard: str, run_dir: Path
) -> None:
    digest = hashlib.sha256((run_dir / "evoforge.db").read_bytes()).hexdigest()
    for path in ["summary", "series", "archive", "programs/1", "lineage/1"]:
        get(f"{dashboard}/api/runs/run/{path}")
    reader = RunReader(run_dir)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"), reader.snapshot() as db:
            db.execute("DELETE FROM programs")
    finally:
        reader.close()
    assert hashlib.sha256((run_dir / "evoforge.db").read_bytes()).hexdigest() == digest


def test_a_long_series_is_downsampled_with_the_best_score_kept(run_dir: Path) -> None:
    reader = RunReader(run_dir)
    try:
        full = reader.series()
        short = reader.series(max_points=3)
    finally:
        reader.close()
    assert short["bucket"] > 1 and len(short["points"]) <= 3
    assert max(p[1] for p in short["points"] if p[1] is not None) == max(
        p[1] for p in full["points"] if p[1] is not None
    )


def test_the_openapi_spec_holds_under_schemathesis(dashboard: str, tmp_path: Path) -> None:
    """Schemathesis, as its own process, fuzzes every operation of the published spec: no 500s, and
    every response conforms to the schema (its default checks)."""
    tool = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [str(tool), "run", f"{dashboard}/api/openapi.json", "--max-examples", "5", "--seed", "1",
         "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its report folder goes there
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
