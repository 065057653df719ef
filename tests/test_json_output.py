"""Every `--json` output parses with a strict parser; non-finite numbers are null and named."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from evoforge.jsonout import strict_json
from evoforge.testing.tasks import evoforge_cli, write_task

INFEASIBLE_EVALUATOR = """def evaluate(program_path):
    return {"combined_score": 1.0, "penalty": float("-inf")}
"""


def strict_loads(text: str) -> Any:
    """What a strict parser (jq, JavaScript's JSON.parse) accepts: no NaN, Infinity or -Infinity."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_become_null_and_are_named_by_path() -> None:
    payload = {"score": -math.inf, "metrics": {"a": math.inf, "b": 2.0}, "list": [1.0, math.nan], "ok": True}
    document = strict_loads(strict_json(payload))
    assert document == {
        "score": None,
        "metrics": {"a": None, "b": 2.0},
        "list": [1.0, None],
        "ok": True,
        "non_finite": {"score": "-inf", "metrics.a": "inf", "list.1": "nan"},
    }


def test_finite_payload_has_no_non_finite_field() -> None:
    assert strict_loads(strict_json({"score": 1.5})) == {"score": 1.5}


def test_eval_json_of_a_failing_program(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    program = tmp_path / "broken.py"
    program.write_text("def solve():\n    raise ValueError('nope')\n")
    result = evoforge_cli("eval", str(task), str(program), "--json")
    assert result.returncode == 1, result.stderr
    document = strict_loads(result.stdout)
    assert document["ok"] is False
    assert document["score"] is None
    assert document["non_finite"] == {"score": "-inf"}


@pytest.fixture
def infeasible_task(tmp_path: Path) -> Path:
    """A task whose evaluator reports an infeasible (-inf) metric next to a finite score."""
    task = write_task(tmp_path)
    (task / "evaluator.py").write_text(INFEASIBLE_EVALUATOR)
    return task


def test_eval_json_of_an_infeasible_metric(infeasible_task: Path) -> None:
    result = evoforge_cli("eval", str(infeasible_task), str(infeasible_task / "initial_program.py"), "--json")
    assert result.returncode == 0, result.stderr
    document = strict_loads(result.stdout)
    assert document["score"] == 1.0
    assert document["metrics"] == {"combined_score": 1.0, "penalty": None}
    assert document["non_finite"] == {"metrics.penalty": "-inf"}


def test_status_json_of_a_best_program_with_an_infeasible_metric(
    infeasible_task: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    started = evoforge_cli("run", str(infeasible_task), "--run-dir", str(run_dir), "--iterations", "1")
    assert started.returncode == 0, started.stderr
    result = evoforge_cli("status", str(run_dir), "--json")
    assert result.returncode == 0, result.stderr
    document = strict_loads(result.stdout)
    assert document["best_score"] == 1.0
    assert document["best_metrics"] == {"combined_score": 1.0, "penalty": None}
    assert document["non_finite"] == {"best_metrics.penalty": "-inf"}
