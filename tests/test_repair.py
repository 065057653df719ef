"""Repair: a child that failed (no edit, an edit that does not apply, an evaluation that raised) is shown to
the model again in the same conversation, and the repaired child is stored with ``repaired`` set. Real runs
against the scripted server, real sandboxed evaluations, the real SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import evoforge
from evoforge.records import Program
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import write_task

BREAK = "<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = undefined_name\n>>>>>>> REPLACE\n"
FIX = "<<<<<<< SEARCH\n    x = undefined_name\n=======\n    x = 2.5\n>>>>>>> REPLACE\n"
ON_PARENT = "<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = 2.5\n>>>>>>> REPLACE\n"
PROSE = "I would keep the program as it is; it looks fine to me."


def last_user(request: dict[str, Any]) -> str:
    return [m for m in request["messages"] if m["role"] == "user"][-1]["content"]


def scripted(first: str) -> Any:
    """``first`` for a new generation; the fix once the model is told what went wrong."""

    def respond(request: dict[str, Any]) -> str:
        said = last_user(request)
        if "failed evaluation" in said:
            return FIX
        if "held no edit" in said or "could not be applied" in said:
            return ON_PARENT
        return first

    return respond


def run(tmp_path: Path, server: ScriptedServer, max_attempts: int) -> list[Program]:
    task = write_task(tmp_path)
    config = {
        "evaluation": {"timeout_s": 20, "parallel": 1},
        "llm": {"models": [{"name": "m", "base_url": server.base_url}], "max_inflight": 1, "retries": 0},
        "repair": {"max_attempts": max_attempts},
    }
    evoforge.evolve(task, run_dir=tmp_path / "run", iterations=2, config=config)
    with evoforge.load_run(tmp_path / "run") as view:
        return view.programs()


def repairs(tmp_path: Path) -> dict[str, int]:
    with evoforge.load_run(tmp_path / "run") as view:
        return view.status()["repairs"]


def test_a_child_that_raises_is_repaired_in_the_same_conversation(tmp_path: Path) -> None:
    with ScriptedServer(scripted(BREAK)) as server:
        programs = run(tmp_path, server, max_attempts=1)
        requests = server.requests
    child = programs[1]
    assert child.repaired and child.ok and child.metrics["value"] == 2.5
    follow_up = requests[1]["messages"]
    assert follow_up[:2] == requests[0]["messages"]  # the same conversation, continued
    assert follow_up[2] == {"role": "assistant", "content": BREAK}
    assert "NameError" in follow_up[3]["content"] and "x = undefined_name" in follow_up[3]["content"]
    assert repairs(tmp_path) == {"asked": 1, "children": 1, "valid": 1}


def test_without_repair_the_broken_child_is_stored_as_it_failed(tmp_path: Path) -> None:
    with ScriptedServer(scripted(BREAK)) as server:
        programs = run(tmp_path, server, max_attempts=0)
        assert len(server.requests) == 1
    assert not programs[1].ok and not programs[1].repaired


@pytest.mark.parametrize(("answer", "told"), [(PROSE, "held no edit"), (FIX, "could not be applied")])
def test_an_answer_without_a_usable_edit_is_repaired(tmp_path: Path, answer: str, told: str) -> None:
    with ScriptedServer(scripted(answer)) as server:
        programs = run(tmp_path, server, max_attempts=1)
        requests = server.requests
    assert programs[1].repaired and programs[1].metrics["value"] == 2.5
    assert told in last_user(requests[1])


def test_repairs_stop_at_max_attempts_per_generation(tmp_path: Path) -> None:
    with ScriptedServer([BREAK]) as server:  # every answer breaks the program again
        programs = run(tmp_path, server, max_attempts=2)
        assert len(server.requests) == 3  # the generation's call and two follow-ups, then it is stored
    assert programs[1].repaired and not programs[1].ok
    assert repairs(tmp_path) == {
        "asked": 2,
        "children": 1,
        "valid": 0,
    }  # only a generation's last child is kept
