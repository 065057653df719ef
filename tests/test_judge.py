"""Judges grade evaluated children with a rubric: the grade is a metric, or a filter that keeps a child out of
the archive; a judge answer that is not the strict JSON asked for is retried once, then the grade is missing.
Real runs against the scripted server (the judge and the mutating model both), real evaluations and store."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

import evoforge
from evoforge.config import parse_config
from evoforge.errors import ConfigError
from evoforge.llm.judge import BadGrade, parse_grade
from evoforge.records import Program
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import write_task

EDIT = "<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = 2.5\n>>>>>>> REPLACE\n"
RUBRIC = "Grade how simple the code is: 10 is a single obvious line, 0 is needlessly clever."


def responder(grades: list[str]) -> Any:
    """The edit for a mutation request; the next of ``grades`` for a judge request."""
    answers = itertools.cycle(grades)

    def respond(request: dict[str, Any]) -> str:
        system = request["messages"][0]["content"]
        return next(answers) if system.startswith("You grade a program") else EDIT

    return respond


def run(tmp_path: Path, grades: list[str], threshold: float | None = None) -> tuple[list[Program], Any]:
    task = write_task(tmp_path)
    with ScriptedServer(responder(grades)) as server:
        model = {"name": "m", "base_url": server.base_url}
        judge = {"name": "simplicity", "model": {**model, "name": "judge"}, "rubric": RUBRIC}
        if threshold is not None:
            judge["threshold"] = threshold
        config = {
            "evaluation": {"timeout_s": 20, "parallel": 1},
            "llm": {"models": [model], "max_inflight": 1, "retries": 0},
            "judges": [judge],
        }
        evoforge.evolve(task, run_dir=tmp_path / "run", iterations=2, config=config)
    view = evoforge.load_run(tmp_path / "run")
    return view.programs(), view


def judge_calls(view: Any) -> list[Any]:
    calls = itertools.takewhile(lambda call: call is not None, (view.llm_call(i) for i in itertools.count(1)))
    return [call for call in calls if call.operator == "judge:simplicity"]


def test_a_filter_judge_keeps_a_child_it_grades_low_out_of_the_archive(tmp_path: Path) -> None:
    programs, view = run(tmp_path, ['{"score": 2, "reason": "too clever"}'], threshold=5)
    with view:
        child = programs[1]
        assert child.metrics["value"] == 2.5 and child.metrics["judge_simplicity"] == 2
        assert not child.ok and "judge simplicity graded 2, below 5" in child.artifacts["judge_rejected"]
        status = view.status()
        assert status["best_program_id"] == 0 and status["judge_rejected"] == 1  # better, but not admitted
        (call,) = judge_calls(view)
        assert RUBRIC in call.messages[1]["content"] and "x = 2.5" in call.messages[1]["content"]


def test_a_grade_above_the_threshold_admits_the_child_and_is_a_metric(tmp_path: Path) -> None:
    programs, view = run(tmp_path, ['```json\n{"score": 8.5}\n```'], threshold=5)
    with view:
        assert programs[1].ok and programs[1].metrics["judge_simplicity"] == 8.5
        assert view.status()["best_program_id"] == 1


def test_a_bad_judge_answer_is_retried_once_with_what_is_wrong(tmp_path: Path) -> None:
    programs, view = run(tmp_path, ["Looks simple to me!", '{"score": 7, "reason": "fine"}'], threshold=5)
    with view:
        assert programs[1].ok and programs[1].metrics["judge_simplicity"] == 7
        _, retry = judge_calls(view)
        assert retry.messages[2] == {"role": "assistant", "content": "Looks simple to me!"}
        assert "not a JSON object" in retry.messages[3]["content"]


def test_two_bad_answers_leave_the_grade_missing_and_never_reject(tmp_path: Path) -> None:
    programs, view = run(tmp_path, ['{"score": 11}', '{"grade": 3}', '{"score": 1}'], threshold=5)
    with view:
        child = programs[1]
        assert child.ok and "judge_simplicity" not in child.metrics
        assert child.artifacts["judge_simplicity"].startswith("grade missing: no valid answer in 2 tries")
        assert len(judge_calls(view)) == 2


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("7", "not an object"),
        ('{"score": true}', "must be a number"),
        ('{"score": 7, "confidence": 1}', "unexpected key 'confidence'"),
        ('{"score": -1}', "outside 0 to 10"),
        ('{"score": 5} and some prose', "not a JSON object"),
    ],
)
def test_the_grade_format_is_strict(answer: str, why: str) -> None:
    with pytest.raises(BadGrade, match=why):
        parse_grade(answer, 10)


def test_judge_names_are_unique_metric_names() -> None:
    judge = {"name": "simplicity", "model": {"name": "m"}, "rubric": RUBRIC}
    with pytest.raises(ConfigError, match="used twice"):
        parse_config({"judges": [judge, judge]})
    with pytest.raises(ConfigError, match="letters, digits and _"):
        parse_config({"judges": [{**judge, "name": "so simple"}]})
