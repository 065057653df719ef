"""Deduplication in real runs (scripted model server, real sandbox): structural twins are never
fingerprinted nor evaluated, functional twins (renamed and reordered) are fingerprinted but not
evaluated, and equal fingerprints with different scores are counted as collisions.

The evaluator logs every program that ``evaluate`` and ``fingerprint`` receive (``isolation: process``
without Landlock lets it write outside its scratch directory).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import evoforge
from evoforge.api import resume
from evoforge.testing.responders import current_program
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

PROGRAM = """# EVOLVE-BLOCK-START
def solve():
    a = 1.0
    b = 2.0
    return a + b
# EVOLVE-BLOCK-END
"""
LOGGING = """import runpy

LOG = {log!r}


def log(kind, program_path):
    with open(program_path) as program, open(LOG, "a") as log:
        log.write(kind + "\\1" + program.read() + "\\0")


def fingerprint(program_path):
    log("fingerprint", program_path)
    return {fingerprint}


def evaluate(program_path):
    log("evaluate", program_path)
    value = runpy.run_path(program_path)["solve"]()
    return {{"combined_score": -((value - 3.7) ** 2)}}
"""
CONFIG = (
    "evaluation: {parallel: 1}\nsandbox: {isolation: process, landlock: false}\ndatabase: {num_islands: 1}\n"
)
BODY = re.compile(r"(?<=def solve\(\):\n)(.*?)\n(?=# EVOLVE-BLOCK-END)", re.DOTALL)
VALUES = re.compile(r"= (-?[0-9.]+)")


def edit(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def rewrites(request: dict[str, Any]) -> str:
    """By turns (the number of requests so far): a comment (a structural twin of the parent), the
    body with its variables renamed and its two assignments swapped (a functional twin), a new
    value of ``a``."""
    code = current_program(request) or ""
    body = BODY.search(code)
    assert body is not None, code
    a, b = VALUES.findall(body.group(1))[:2]
    if "first" in body.group(1):  # the swapped form holds b first
        a, b = b, a
    turn = sum(message["role"] == "user" for message in request["messages"]) + len(rewrites.seen)
    rewrites.seen.append(turn)
    kind = len(rewrites.seen) % 3
    if kind == 1:
        first, rest = body.group(1).split("\n", 1)
        return edit(body.group(1), f"{first}  # the same program\n{rest}")
    if kind == 2:
        return edit(body.group(1), f"    second = {b}\n    first = {a}\n    return first + second")
    return edit(body.group(1), f"    a = {float(a) + 0.1:.6g}\n    b = {b}\n    return a + b")


def logged(log: Path) -> list[tuple[str, str]]:
    return [tuple(entry.split("\1", 1)) for entry in log.read_text().split("\0")[:-1]]  # type: ignore[misc]


def run(tmp_path: Path, fingerprint: str, **overrides: Any) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    log = tmp_path / "calls.log"
    task = write_task(
        tmp_path, CONFIG, program=PROGRAM, evaluator=LOGGING.format(log=str(log), fingerprint=fingerprint)
    )
    rewrites.seen = []
    with ScriptedServer(rewrites, latency_s=0.0) as server:
        models = [{"name": "scripted", "base_url": server.base_url}]
        evoforge.evolve(
            task,
            run_dir=tmp_path / "run",
            iterations=10,
            llm__models=models,
            llm__max_inflight=1,
            **overrides,
        )
    status = evoforge_cli("status", str(tmp_path / "run"), "--json")
    return logged(log), json.loads(status.stdout)


rewrites.seen = []  # type: ignore[attr-defined]


def test_twins_are_not_evaluated_again(tmp_path: Path) -> None:
    calls, status = run(
        tmp_path,
        "repr(runpy.run_path(program_path)['solve']())",
        dedup__structural="normalized",
        dedup__functional="reuse",
    )
    fingerprinted = [code for kind, code in calls if kind == "fingerprint"]
    evaluated = [code for kind, code in calls if kind == "evaluate"]
    assert not any("# the same program" in code for code in fingerprinted + evaluated)  # structural: neither
    swapped = [code for code in fingerprinted if "first" in code]
    assert swapped and not any("first" in code for code in evaluated)  # functional: fingerprinted only
    assert len(evaluated) == len(set(evaluated))
    dedup = status["dedup"]
    assert dedup["saved_structural"] == status["failures_by_kind"]["duplicate"] >= 3
    assert dedup["saved_functional"] == len(swapped) and dedup["collisions"] == 0
    assert status["evaluated"] == 10 and len(evaluated) == 10 - len(swapped)  # the initial one included
    with evoforge.load_run(tmp_path / "run") as view:
        programs = {p.id: p for p in view.programs()}
    reused = [p for p in programs.values() if "reused" in p.artifacts]
    assert len(reused) == len(swapped)
    for program in reused:
        origin = int(program.artifacts["reused"].split("program ")[1].split(",")[0])
        assert programs[origin].score == program.score and programs[origin].code != program.code


def test_equal_fingerprints_with_different_scores_are_collisions(tmp_path: Path) -> None:
    """A fingerprint blind to ``a`` (it only sees ``b``): with ``evaluate`` every match is evaluated
    anyway, and those that score differently from the first of their fingerprint are collisions."""
    calls, status = run(tmp_path, "'b only'", dedup__functional="evaluate")
    evaluated = [code for kind, code in calls if kind == "evaluate"]
    fingerprinted = [code for kind, code in calls if kind == "fingerprint"]
    assert sorted(fingerprinted) == sorted(evaluated)  # the initial program's fingerprint too
    dedup = status["dedup"]
    assert dedup["saved_functional"] == 0 and status["evaluated"] == 10
    assert dedup["fingerprint_matches_evaluated"] == len(fingerprinted) - 1
    with evoforge.load_run(tmp_path / "run") as view:
        initial, *children = sorted(view.programs(), key=lambda p: p.submission)
    different = sum(p.score != initial.score for p in children)
    assert different > 0 and dedup["collisions"] == different
    assert f"{different} collisions" in evoforge_cli("status", str(tmp_path / "run")).stdout


def submissions(run_dir: Path) -> tuple[list[tuple[int, str, int | None]], list[tuple[int, str, int | None]]]:
    """Programs (submission, code, submission of the program reused) and failures (submission, kind,
    submission of the program repeated): what a seeded run made, whatever the ids."""
    with evoforge.load_run(run_dir) as view:
        programs = view.programs()
    submission_of = {p.id: p.submission for p in programs}
    reused = {}
    for p in programs:
        if "reused" in p.artifacts:
            reused[p.id] = submission_of[int(p.artifacts["reused"].split("program ")[1].split(",")[0])]
    made = sorted((p.submission, p.code, reused.get(p.id)) for p in programs)
    db = sqlite3.connect(f"{(run_dir / 'evoforge.db').as_uri()}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT submission, kind, duplicate_of FROM failed_generations").fetchall()
    finally:
        db.close()
    failed = sorted((s, kind, submission_of.get(of) if of is not None else None) for s, kind, of in rows)
    return made, failed


def test_a_seeded_run_dedups_the_same_children_every_time(tmp_path: Path) -> None:
    """The offline mutators with both checks on, two evaluations at once: twice the same programs,
    the same duplicates and the same reuses, however the evaluations' timing fell."""
    log = tmp_path / "calls.log"
    evaluator = LOGGING.format(
        log=str(log), fingerprint="repr(round(runpy.run_path(program_path)['solve'](), 1))"
    )
    task = write_task(
        tmp_path, CONFIG.replace("parallel: 1", "parallel: 2"), program=PROGRAM, evaluator=evaluator
    )
    made = []
    for name in ("first", "second"):
        evoforge.evolve(
            task,
            run_dir=tmp_path / name,
            iterations=25,
            seed=5,
            dedup__structural="normalized",
            dedup__functional="reuse",
        )
        made.append(submissions(tmp_path / name))
    assert made[0] == made[1]
    programs, failed = made[0]
    assert any(reused is not None for *_, reused in programs)  # the rounded fingerprint matched
    assert all(of is not None for _, kind, of in failed if kind == "duplicate")


def test_a_resumed_run_still_catches_twins_of_earlier_programs(tmp_path: Path) -> None:
    """After a resume the indexes are rebuilt from the store: a twin of a program of the first session
    is still caught, structurally with that program's id, functionally with its fingerprint."""
    log = tmp_path / "calls.log"
    fingerprint = "repr(runpy.run_path(program_path)['solve']())"
    task = write_task(
        tmp_path, CONFIG, program=PROGRAM, evaluator=LOGGING.format(log=str(log), fingerprint=fingerprint)
    )
    rewrites.seen = []
    with ScriptedServer(rewrites, latency_s=0.0) as server:
        models = [{"name": "scripted", "base_url": server.base_url}]
        settings = {"llm__models": models, "llm__max_inflight": 1}
        dedup = {"dedup__structural": "normalized", "dedup__functional": "reuse"}
        evoforge.evolve(task, run_dir=tmp_path / "run", iterations=4, **settings, **dedup)
        first_session = len(logged(log))
        resume(tmp_path / "run", iterations=10)
    later = logged(log)[first_session:]
    assert later and not any("# the same program" in code for _, code in later)
    assert any("first" in code for kind, code in later if kind == "fingerprint")
    assert not any("first" in code for kind, code in later if kind == "evaluate")
    _, failed = submissions(tmp_path / "run")
    duplicates = [of for _, kind, of in failed if kind == "duplicate"]
    assert len(duplicates) >= 3 and None not in duplicates
