"""Search mode: evaluations receive the run's best solution and a budget, return an improved one, and the
store keeps each solution with the program that produced it.

Runs use the offline ``tune`` mutator (no model) and the real sandbox; the evaluator is evoforge's own
``improver.evaluate_improver``, which runs ``solve(best, budget_s)`` apart and verifies its result.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

import evoforge
from evoforge.api import resume
from evoforge.errors import ConfigError
from evoforge.evaluation.contract import MAX_SOLUTION_BYTES, ContractError, check_solution, solution_text
from evoforge.records import EvaluationResult
from evoforge.search_mode import SearchModeConfig, check_search_mode
from evoforge.storage import DB_FILENAME
from evoforge.testing.tasks import evoforge_cli, write_task

# Each child adds its STEP to the best solution it is given: a run only climbs if solutions are passed on.
PROGRAM = '''"""A search heuristic: improve the best value so far by one step."""

# EVOLVE-BLOCK-START
STEP = 1.0
# EVOLVE-BLOCK-END


def solve(best, budget_s):
    assert budget_s == 0.5
    return (best if best is not None else 0.0) + STEP
'''

EVALUATOR = """from evoforge.improver import evaluate_improver
from evoforge.verify import InvalidObject, real


def score(value):
    if real(value, "the solution") > 1000:
        raise InvalidObject("the solution is above 1000")
    return value


def evaluate(program_path):
    return evaluate_improver(program_path, score, lambda v: {"combined_score": v}, default_budget_s=0.5)
"""

CONFIG = """search_mode: {budget_s: 0.5}
mutators: {tune: 1}
evaluation: {timeout_s: 30, parallel: 1}
llm: {max_inflight: 1}
database: {num_islands: 1}
"""  # a window of two submissions: the best solution of submission s comes from those up to s - 2


def search_task(root: Path, config: str = CONFIG, program: str = PROGRAM) -> Path:
    return write_task(root, config, program=program, evaluator=EVALUATOR)


def stored(run_dir: Path) -> list[tuple[int, float, dict[str, float], float | None]]:
    """(id, score, metrics, solution) of every program, in id order."""
    db = sqlite3.connect(run_dir / DB_FILENAME)
    try:
        rows = db.execute(
            "SELECT p.id, p.score, p.metrics, s.solution FROM programs AS p "
            "LEFT JOIN solutions AS s ON s.program_id = p.id ORDER BY p.id"
        ).fetchall()
    finally:
        db.close()
    return [(i, score, json.loads(m), json.loads(s) if s else None) for i, score, m, s in rows]


def step_of(code: str) -> float:
    return float(code.split("STEP = ", 1)[1].split("\n", 1)[0])


def test_search_mode_improves_the_stored_solution_across_generations(tmp_path: Path) -> None:
    result = evoforge.evolve(search_task(tmp_path), run_dir=tmp_path / "run", iterations=10)
    programs = stored(tmp_path / "run")
    with evoforge.load_run(tmp_path / "run") as run:
        code = {p.id: p.code for p in run.programs()}
    assert len(programs) == 10
    initial = programs[0]
    assert initial[3] == 1.0 and initial[2]["received_solution"] == 0.0  # no solution before the first
    children = programs[1:]
    assert all(p[2]["received_solution"] == 1.0 for p in children)  # every later one got one
    valid = [p for p in children if math.isfinite(p[1])]
    assert all(p[3] == p[1] for p in valid)  # the stored solution is the one the verifier scored
    # A child's solution is what it received plus its STEP: what it received was an earlier solution.
    received = {}
    for child in valid:
        received[child[0]] = child[3] - step_of(code[child[0]])
        assert any(math.isclose(received[child[0]], p[3]) for p in programs[: child[0]] if p[3] is not None)
    # Later children received solutions that children made, better than the initial program's.
    assert max(received.values()) > initial[3] + 0.5
    assert result.best_score == max(p[3] for p in valid)
    assert json.loads((tmp_path / "run" / "best_solution.json").read_text()) == result.best_score
    after_first = max(p[3] for p in programs[:2] if p[3] is not None)
    assert result.best_score > after_first + 1.0  # the stored best kept growing after the first child


def test_without_search_mode_nothing_is_passed_and_nothing_stored(tmp_path: Path) -> None:
    config = CONFIG.replace("search_mode: {budget_s: 0.5}\n", "")
    evoforge.evolve(search_task(tmp_path, config), run_dir=tmp_path / "run", iterations=4)
    programs = stored(tmp_path / "run")
    assert all(p[2]["received_solution"] == 0.0 for p in programs)
    assert all(p[3] is not None for p in programs)  # the evaluator still returns its solution


def test_an_infeasible_solution_is_not_passed_on(tmp_path: Path) -> None:
    """The verifier rejects values above 1000: a program that jumps there scores -inf, and the next
    evaluations still receive the best feasible solution."""
    program = PROGRAM.replace("STEP = 1.0", "STEP = 600.0")
    evoforge.evolve(search_task(tmp_path, program=program), run_dir=tmp_path / "run", iterations=6)
    programs = stored(tmp_path / "run")
    assert programs[0][3] == 600.0
    for _, score, metrics, solution in programs[1:]:
        assert metrics["received_solution"] == 1.0
        if not math.isfinite(score):
            assert solution is None  # never stored, so never handed on


def test_the_budget_must_fit_in_the_evaluation_timeout(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="budget_s"):
        check_search_mode(SearchModeConfig(budget_s=60), 60, {"initial_program.py"})
    with pytest.raises(ConfigError, match="file of the program"):
        check_search_mode(SearchModeConfig(solution_file="initial_program.py"), 60, {"initial_program.py"})
    task = search_task(tmp_path, CONFIG.replace("budget_s: 0.5", "budget_s: 31"))
    finished = evoforge_cli("run", str(task), "--run-dir", str(tmp_path / "run"), "--iterations", "2")
    assert finished.returncode == 2
    assert finished.stderr.strip().count("\n") == 0 and "search_mode.budget_s" in finished.stderr


@pytest.mark.parametrize("name", ["../x.json", "a/b.json", "", ".."])
def test_the_solution_file_is_a_plain_name(name: str) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        SearchModeConfig(solution_file=name)


def test_a_solution_is_plain_json_within_its_limit() -> None:
    assert solution_text({"combined_score": 1.0}) is None  # a dict of metrics carries none
    assert solution_text(EvaluationResult({}, solution=[[0.5, 0.5, 0.1]])) == "[[0.5,0.5,0.1]]"
    with pytest.raises(ContractError, match="not plain JSON"):
        solution_text(EvaluationResult({}, solution=[float("nan")]))
    with pytest.raises(ContractError, match="not plain JSON"):
        solution_text(EvaluationResult({}, solution={1j}))
    with pytest.raises(ContractError, match="more than"):
        solution_text(EvaluationResult({}, solution="x" * MAX_SOLUTION_BYTES))


@pytest.mark.parametrize(
    ("forged", "reason"),
    [(["a list"], "must be JSON text"), ("[1, 2", "not valid JSON"), ("[" * 100_000, "not valid")],
)
def test_the_controller_rechecks_the_solution_an_answer_carries(forged: object, reason: str) -> None:
    """The answer crosses a pipe the candidate can write to: its solution is checked again on arrival."""
    with pytest.raises(ContractError, match=reason):
        check_solution(forged)


def test_a_resumed_run_hands_on_the_solutions_it_stored(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    evoforge.evolve(search_task(tmp_path), run_dir=run_dir, iterations=4)
    resume(run_dir, iterations=8)
    programs = stored(run_dir)
    with evoforge.load_run(run_dir) as run:
        code = {p.id: p.code for p in run.programs()}
    assert len(programs) == 8
    for child in programs[4:]:
        if math.isfinite(child[1]):
            received = child[3] - step_of(code[child[0]])
            assert any(math.isclose(received, p[3]) for p in programs[: child[0]] if p[3] is not None)
            assert received > programs[0][3]  # a child's solution from before the resume, not the initial's


def test_a_seeded_run_hands_each_submission_the_same_solution(tmp_path: Path) -> None:
    """Which solution a submission receives is fixed when it is submitted, by the outcomes older than the
    window, not by which evaluations happen to have finished: two runs with the same window of four
    (two evaluations and two proposals in flight, or one and three) store the same programs and
    solutions, submission by submission."""
    runs = []
    for parallel, inflight in ((2, 2), (1, 3)):
        config = CONFIG.replace("parallel: 1", f"parallel: {parallel}")
        (tmp_path / f"{parallel}").mkdir()
        task = search_task(
            tmp_path / f"{parallel}", config.replace("max_inflight: 1", f"max_inflight: {inflight}")
        )
        evoforge.evolve(task, run_dir=tmp_path / f"run{parallel}", iterations=10)
        db = sqlite3.connect(tmp_path / f"run{parallel}" / DB_FILENAME)
        runs.append(
            db.execute(
                "SELECT p.submission, p.code, s.solution FROM programs AS p "
                "LEFT JOIN solutions AS s ON s.program_id = p.id ORDER BY p.submission"
            ).fetchall()
        )
        db.close()
    assert runs[0] == runs[1]
