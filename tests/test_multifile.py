"""Multi-file tasks: the bundle of files, edits that name their file, and a run that evolves two files.

The run goes through the real model client against the scripted OpenAI-protocol server and through the
real sandbox; the evaluator imports the helper from beside the program, as a real task would.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import evoforge
from evoforge import codebase
from evoforge.edits import parse_response
from evoforge.errors import EditError, TaskError
from evoforge.evaluation import sandbox
from evoforge.storage import DB_FILENAME
from evoforge.task import load_task
from evoforge.testing.responders import current_program
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

MAIN = """import helper

# EVOLVE-BLOCK-START
A = 1
# EVOLVE-BLOCK-END


def solve():
    return A, helper.value()
"""

HELPER = """# EVOLVE-BLOCK-START
B = 1
# EVOLVE-BLOCK-END


def value():
    return B
"""

# Imports the program from its own folder, so ``import helper`` finds the helper written beside it.
EVALUATOR = """import importlib.util
import os
import sys


def evaluate(program_path):
    folder = os.path.dirname(program_path)
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    a, b = module.solve()
    with open(os.path.join(folder, "helper.py")) as helper:
        seen = helper.read().count("B = ")
    return {"combined_score": -abs(a - 3) - abs(b - 4), "a": a, "b": b, "helper_seen": seen == 1}
"""


def two_file_task(root: Path, config: str = "files: [helper.py]\n") -> Path:
    task = write_task(root, config + "evaluation:\n  timeout_s: 20\n  parallel: 2\n", program=MAIN)
    (task / "evaluator.py").write_text(EVALUATOR)
    (task / "helper.py").write_text(HELPER)
    return task


def bundle_of(task: Path) -> str:
    return codebase.with_files(load_task(task), ["helper.py"]).initial_code


def test_a_bundle_holds_each_file_under_its_path_and_splits_back(tmp_path: Path) -> None:
    code = bundle_of(two_file_task(tmp_path))
    assert code == f"==> initial_program.py <==\n{MAIN}==> helper.py <==\n{HELPER}"
    assert codebase.unpack(code) == {"initial_program.py": MAIN, "helper.py": HELPER}
    assert codebase.split(code, "initial_program.py") == (MAIN, {"helper.py": HELPER})
    assert codebase.split(MAIN, "initial_program.py") == (MAIN, {})  # a single file stays as it is


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["../evaluator.py"], "relative path inside the task folder"),
        (["/etc/passwd"], "relative path inside the task folder"),
        (["missing.py"], "not found"),
        (["evaluator.py"], "cannot be evolved"),
    ],
)
def test_a_bad_files_entry_is_one_task_error(tmp_path: Path, files: list[str], message: str) -> None:
    task = load_task(two_file_task(tmp_path))
    with pytest.raises(TaskError, match=message):
        codebase.with_files(task, files)


def edit_named(path: str, search: str, replace: str) -> str:
    return f"Changing {path}.\n\n`{path}`\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def test_a_path_line_limits_a_search_to_its_file(tmp_path: Path) -> None:
    """Both files hold ``X = 0``: without a path the SEARCH is ambiguous, with one it edits that file."""
    code = codebase.pack({"a.py": "# EVOLVE-BLOCK-START\nX = 0\n# EVOLVE-BLOCK-END\n"} | {"b.py": HELPER})
    code = code.replace("B = 1", "X = 0")
    answer = edit_named("b.py", "X = 0", "X = 5")
    edit = parse_response(answer)
    assert edit is not None
    child = codebase.unpack(codebase.apply_answer(code, edit, answer))
    assert "X = 0" in child["a.py"] and "X = 5" in child["b.py"]
    bare = answer.replace("`b.py`\n", "").replace("Changing b.py.", "")
    with pytest.raises(EditError, match="appears 2 times"):
        codebase.apply_answer(code, edit, bare)


def test_a_search_copied_with_its_file_header_edits_that_file(tmp_path: Path) -> None:
    code = bundle_of(two_file_task(tmp_path))
    answer = edit_named(
        "x",
        "==> helper.py <==\n# EVOLVE-BLOCK-START\nB = 1",
        "==> helper.py <==\n# EVOLVE-BLOCK-START\nB = 2",
    )
    answer = answer.replace("`x`\n", "")
    edit = parse_response(answer)
    assert edit is not None
    with pytest.raises(EditError, match=r"in helper\.py includes an EVOLVE-BLOCK marker"):
        codebase.apply_answer(code, edit, answer)
    answer = edit_named("x", "==> helper.py <==\nB = 1", "B = 2").replace("`x`\n", "")
    edit = parse_response(answer)
    assert edit is not None
    assert codebase.unpack(codebase.apply_answer(code, edit, answer))["helper.py"] == HELPER.replace("1", "2")


def test_a_rewrite_after_a_path_line_rewrites_that_file_alone(tmp_path: Path) -> None:
    code = bundle_of(two_file_task(tmp_path))
    answer = "helper.py:\n```python\n" + HELPER.replace("B = 1", "B = 7") + "```\n"
    edit = parse_response(answer, "rewrite")
    assert edit is not None
    child = codebase.unpack(codebase.apply_answer(code, edit, answer))
    assert child == {"initial_program.py": MAIN, "helper.py": HELPER.replace("B = 1", "B = 7")}


def test_an_edit_cannot_add_a_file_header(tmp_path: Path) -> None:
    code = bundle_of(two_file_task(tmp_path))
    answer = edit_named("helper.py", "B = 1", "B = 1\n==> evil.py <==\nimport os")
    edit = parse_response(answer)
    assert edit is not None
    with pytest.raises(EditError, match="separates files"):
        codebase.apply_answer(code, edit, answer)


def alternating_files(request: dict[str, Any]) -> str:
    """Moves A towards 3 and B towards 4, one file per answer (the one further from its target), each
    edit named by a path line."""
    files = codebase.unpack(current_program(request) or "")
    a = int(re.search(r"^A = (\d+)$", files["initial_program.py"], re.MULTILINE).group(1))  # type: ignore[union-attr]
    b = int(re.search(r"^B = (\d+)$", files["helper.py"], re.MULTILINE).group(1))  # type: ignore[union-attr]
    if 3 - a >= 4 - b and a < 3:
        return edit_named("initial_program.py", f"A = {a}", f"A = {a + 1}")
    if b < 4:
        return edit_named("helper.py", f"B = {b}", f"B = {b + 1}")
    return edit_named("helper.py", f"B = {b}", f"B = {b + 10}")


def test_a_two_file_task_evolves_both_files(tmp_path: Path) -> None:
    task = two_file_task(tmp_path)
    with ScriptedServer(alternating_files) as server:
        result = evoforge.evolve(
            task,
            run_dir=tmp_path / "run",
            iterations=12,
            llm__models=[{"name": "scripted", "base_url": server.base_url}],
            llm__max_inflight=1,
            evaluation__parallel=1,
            database__num_islands=1,
            database__exploitation_ratio=0.0,
            database__exploration_ratio=0.0,
            database__elite_ratio=1.0,
        )
        prompts = [m["content"] for body in server.requests for m in body["messages"]]
    assert any("==> helper.py <==" in prompt and "==> initial_program.py <==" in prompt for prompt in prompts)
    assert any(codebase.EDIT_RULE in prompt for prompt in prompts)  # how to name a file, in the context
    best = codebase.unpack(result.best_code or "")
    assert "A = 3" in best["initial_program.py"] and "B = 4" in best["helper.py"]  # both files changed
    assert result.best_score == 0.0
    assert result.best_path == tmp_path / "run" / "best_program"  # a folder of the files, ready to run
    assert (result.best_path / "helper.py").read_text() == best["helper.py"]
    db = sqlite3.connect(tmp_path / "run" / DB_FILENAME)
    seen = [row[0] for row in db.execute("SELECT metrics FROM programs")]
    db.close()
    assert all(
        '"helper_seen":1.0' in metrics for metrics in seen
    )  # the evaluator found the helper every time


def test_evoforge_eval_writes_the_other_files_beside_the_program(tmp_path: Path) -> None:
    task = two_file_task(tmp_path)
    (task / "helper.py").write_text(HELPER.replace("B = 1", "B = 4"))
    done = evoforge_cli("eval", str(task), str(task / "initial_program.py"), "--json")
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)["metrics"]
    assert metrics["b"] == 4.0 and metrics["helper_seen"] == 1.0


def test_the_launcher_writes_files_only_inside_the_scratch_folder(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "launcher", Path(sandbox.__file__).with_name("sandboxed_launcher.py")
    )
    assert spec is not None and spec.loader is not None
    launcher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launcher)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    files = {
        "a.py": "a",
        "sub/b.py": "b",
        "../escaped.py": "x",
        f"{tmp_path}/absolute.py": "x",
        "sub/../../up.py": "x",
    }
    launcher.write_files(str(scratch), files)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.py"))
    assert written == ["scratch/a.py", "scratch/sub/b.py"]
