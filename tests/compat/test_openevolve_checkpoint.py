"""`evoforge import-openevolve`: an OpenEvolve checkpoint as an evoforge run to resume."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from evoforge.runfiles import DB_FILENAME
from evoforge.testing.tasks import PROGRAM, evoforge_cli, write_task


def checkpoint(root: Path, values: list[float]) -> Path:
    """OpenEvolve's layout: metadata.json and programs/<uuid>.json, a chain of children of the first."""
    directory = root / "checkpoints" / "checkpoint_10"
    (directory / "programs").mkdir(parents=True)
    keys = [str(uuid.UUID(int=i + 1)) for i in range(len(values))]
    for index, (key, value) in enumerate(zip(keys, values, strict=True)):
        program = {
            "id": key,
            "code": PROGRAM.replace("x = 1.0", f"x = {value}"),
            "language": "python",
            "parent_id": keys[index - 1] if index else None,
            "generation": index,
            "timestamp": 1000.0 + index,
            "iteration_found": index,
            "metrics": {"combined_score": -((value - 3.7) ** 2), "value": value, "error": "none"},
            "artifacts_json": json.dumps({"stdout": f"x={value}"}),
            "metadata": {},
        }
        (directory / "programs" / f"{key}.json").write_text(json.dumps(program))
    islands = [keys[::2], keys[1::2]]
    (directory / "metadata.json").write_text(json.dumps({"islands": islands, "best_program_id": keys[-1]}))
    return directory


def test_a_checkpoint_becomes_a_run_that_resumes(tmp_path: Path) -> None:
    task = write_task(tmp_path, "iterations: 4\nevaluation:\n  timeout_s: 20\n  parallel: 2\n")
    source = checkpoint(tmp_path, [1.0, 2.0, 2.5, 3.0])
    run_dir = tmp_path / "imported"
    result = evoforge_cli("import-openevolve", str(source), "--task", str(task), "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr
    assert "imported 4 programs" in result.stdout
    db = sqlite3.connect(run_dir / DB_FILENAME)
    rows = db.execute("SELECT id, parent_id, island, metrics, artifacts FROM programs ORDER BY id").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(0, None, 0), (1, 0, 1), (2, 1, 0), (3, 2, 1)]
    assert json.loads(rows[3][3]) == {"combined_score": -0.49000000000000027, "value": 3.0}
    assert json.loads(rows[3][4]) == {"error": "none", "stdout": "x=3.0"}
    db.close()
    resumed = evoforge_cli("resume", str(run_dir), "--iterations", "10")
    assert resumed.returncode == 0, resumed.stderr
    status = json.loads(evoforge_cli("status", str(run_dir), "--json").stdout)
    assert status["evaluated"] == 10 and status["best_score"] >= -0.49000000000000027


def test_a_folder_that_is_not_a_checkpoint_is_one_line(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    result = evoforge_cli(
        "import-openevolve", str(tmp_path), "--task", str(task), "--run-dir", str(tmp_path / "r")
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "not an OpenEvolve checkpoint" in result.stderr
