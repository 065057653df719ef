"""What the controller does with each child, seen from outside: duplicates are not evaluated again,
rejected edits reach the next prompt for their parent, and a wall-time budget stops the run cleanly.

Runs go through the real model client against the scripted OpenAI-protocol server, whose answers are
computed from the prompt, and through the real sandbox.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import evoforge
from evoforge.storage import DB_FILENAME
from evoforge.testing.responders import Responder, current_program, tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import PROGRAM, evoforge_cli, write_task

INITIAL_X = "    x = 1.0"
X_LINE = re.compile(r"^    x = .*$", re.MULTILINE)


def choice(request: dict[str, Any], ways: int) -> int:
    """A choice among ``ways`` that depends only on the prompt, so runs replay exactly."""
    return hashlib.sha256(json.dumps(request["messages"]).encode()).digest()[0] % ways


def edit(search: str, replace: str) -> str:
    return f"Trying this.\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def rows(run_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(f"{(run_dir / DB_FILENAME).as_uri()}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def models(server: ScriptedServer) -> list[dict[str, str]]:
    return [{"name": "scripted", "base_url": server.base_url}]


LOGGING_EVALUATOR = """import importlib.util

LOG = {log!r}


def evaluate(program_path):
    with open(program_path) as program:
        code = program.read()
    with open(LOG, "a") as log:
        log.write(code + "\\0")
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {{"combined_score": -((module.solve() - 3.7) ** 2)}}
"""


def test_a_child_equal_to_an_evaluated_program_is_not_evaluated_again(tmp_path: Path) -> None:
    """One answer in three sets x back to 1.0, making the initial program again: each of those
    children is a duplicate, recorded as such, and never reaches the evaluator, which logs every
    program it is given (``isolation: process`` without landlock lets it write outside its scratch
    directory)."""
    log = tmp_path / "evaluated.log"
    task = write_task(
        tmp_path, "evaluation:\n  parallel: 2\nsandbox:\n  isolation: process\n  landlock: false\n"
    )
    (task / "evaluator.py").write_text(LOGGING_EVALUATOR.format(log=str(log)))
    tweak = tweak_constants_responder(seed=3)
    reverts = []
    lock = threading.Lock()

    def respond(request: dict[str, Any]) -> str:
        code = current_program(request) or ""
        if INITIAL_X + "\n" not in code and choice(request, 3) == 0:
            with lock:
                reverts.append(code)
            line = X_LINE.search(code)
            assert line is not None
            return edit(line.group(0), INITIAL_X)
        return tweak(request)

    with ScriptedServer(respond, latency_s=0.01) as server:
        result = evoforge.evolve(
            task, run_dir=tmp_path / "run", iterations=30, llm__models=models(server), llm__max_inflight=3
        )
    evaluated = log.read_text().split("\0")[:-1]
    with evoforge.load_run(tmp_path / "run") as run:
        programs = run.programs()
    assert sorted(evaluated) == sorted(p.code for p in programs)  # every program evaluated once, no more
    assert evaluated.count(PROGRAM) == 1  # the initial program, never again
    duplicates = rows(tmp_path / "run", "SELECT COUNT(*) FROM failed_generations WHERE kind = 'duplicate'")
    assert len(reverts) >= 3 and duplicates[0][0] >= len(reverts)
    assert result.evaluated == 30


def rejecting(responder: Responder) -> Responder:
    """``responder``, except that one prompt in three gets an edit the controller must reject: a SEARCH
    naming a value the program does not hold (unique per prompt) or one touching the docstring, which
    lies outside the EVOLVE block."""

    def respond(request: dict[str, Any]) -> str:
        picked = choice(request, 6)
        if picked == 0:
            missing = f"    x = 99.{hashlib.sha256(json.dumps(request['messages']).encode()).hexdigest()[:8]}"
            return edit(missing, "    x = 2.0")
        if picked == 1:
            return edit('"""Toy program: one constant to tune."""', '"""Changed."""')
        return responder(request)

    return respond


def test_a_rejected_edit_is_shown_in_the_next_prompt_for_its_parent(tmp_path: Path) -> None:
    """The reason an edit was rejected reaches the first prompt for the same parent made once the
    rejection was applied (submission s + window), as the model server received it."""
    task = write_task(tmp_path, "evaluation:\n  parallel: 1\ndatabase:\n  num_islands: 1\n")
    window = 2 + 1
    with ScriptedServer(rejecting(tweak_constants_responder(seed=4)), latency_s=0.01) as server:
        evoforge.evolve(
            task, run_dir=tmp_path / "run", iterations=30, llm__models=models(server), llm__max_inflight=2
        )
        received = [message["content"] for body in server.requests for message in body["messages"]]
    run_dir = tmp_path / "run"
    calls = rows(run_dir, "SELECT id, submission, messages FROM llm_calls")
    prompt_of = {submission: json.loads(messages)[-1]["content"] for _, submission, messages in calls}
    parent_of = dict(rows(run_dir, "SELECT submission, parent_id FROM programs WHERE parent_id IS NOT NULL"))
    parent_of |= dict(rows(run_dir, "SELECT submission, parent_id FROM failed_generations"))
    rejected = rows(
        run_dir, "SELECT submission, parent_id, reason FROM failed_generations WHERE kind = 'edit_rejected'"
    )
    kinds = {"was not found" in reason for _, _, reason in rejected}
    assert kinds == {True, False}  # both kinds of rejection happened
    checked = 0
    for submission, parent, reason in rejected:
        later = sorted(s for s, p in parent_of.items() if p == parent and s >= submission + window)
        if not later:
            continue
        shown = prompt_of[later[0]]
        assert f"Your previous edit to this program was rejected: {reason}" in shown, (submission, later[0])
        assert shown in received
        checked += 1
    assert checked >= 3
    unique = [(s, r) for s, _, r in rejected if "was not found" in r]
    assert all(r not in prompt_of[t] for s, r in unique for t in prompt_of if t < s + window)


def test_the_wall_time_budget_stops_the_run_and_exports_the_best_program(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    run_dir = tmp_path / "run"
    with ScriptedServer(tweak_constants_responder(seed=5), latency_s=0.05) as server:
        result = evoforge_cli(
            "run", str(task), "--run-dir", str(run_dir), "--iterations", "100000", "--model", "scripted",
            "--base-url", server.base_url, "--set", "max_wall_time_s=3",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "stopped: reached the wall-time limit of 3 s" in result.stderr
    with evoforge.load_run(run_dir) as run:
        programs = run.programs()
    assert 1 < len(programs) < 100000
    best = max((p for p in programs if p.is_valid), key=lambda p: (p.score, -p.id))
    assert (run_dir / "best_program.py").read_text() == best.code
    assert json.loads((run_dir / "best_program.json").read_text())["id"] == best.id
