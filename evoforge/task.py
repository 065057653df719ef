"""Load and validate a task directory: the program to evolve, its evaluator, config and context.

Validation is static (the evaluator is parsed, never imported here): user code only ever runs in
the sandbox, so a broken evaluator is reported without executing anything in the controller.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from evoforge.blocks import find_blocks
from evoforge.errors import TaskError

LANGUAGES = {
    ".py": "python",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".rs": "rust",
    ".js": "javascript",
    ".ts": "typescript",
    ".go": "go",
    ".java": "java",
    ".lua": "lua",
    ".hs": "haskell",
    ".sql": "sql",
    ".jl": "julia",
    ".sh": "bash",
}


@dataclass(frozen=True)
class Task:
    """A validated task directory."""

    directory: Path
    name: str
    program_path: Path
    initial_code: str
    evaluator_path: Path
    config_path: Path | None
    context: str | None
    files: tuple[str, ...] = ()  # evolved beside the program (config ``files``): see codebase.py
    evaluator_kind: str = "evoforge"  # "shinka": evaluate.py is a ShinkaEvolve script (compat/child_side.py)

    @property
    def language(self) -> str:
        """Language name for code fences, from the program's file extension."""
        return LANGUAGES.get(self.program_path.suffix, self.program_path.suffix.lstrip(".") or "text")

    @property
    def program_filename(self) -> str:
        return self.program_path.name


def _find_program(directory: Path) -> Path:
    candidates = sorted(p for p in directory.glob("initial_program.*") if p.is_file())
    if not candidates:
        raise TaskError(f"{directory}: no initial_program.* file (the program to evolve)")
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise TaskError(f"{directory}: several initial programs ({names}); keep exactly one")
    return candidates[0]


def check_evaluator(path: Path) -> None:
    """Check, without running it, that ``path`` parses and defines a top-level ``evaluate``."""
    if not path.is_file():
        raise TaskError(
            f"{path}: evaluator not found (a task needs evaluator.py with evaluate(program_path))"
        )
    try:
        tree = ast.parse(read_text(path, "the evaluator"), filename=str(path))
    except SyntaxError as error:
        raise TaskError(f"{path}:{error.lineno}: syntax error in the evaluator: {error.msg}") from None
    if "evaluate" not in _top_level_names(tree):
        raise TaskError(f"{path}: the evaluator defines no evaluate(program_path) function")


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names bound at module level by def, class, assignment or import."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of one of the task's files; a TaskError naming it when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise TaskError(f"{path}: cannot read {what}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise TaskError(f"{path}: {what} is not UTF-8 text (byte {error.start})") from None


def load_task(directory: Path | str) -> Task:
    """Load and validate the task in ``directory``; raise TaskError with a one-line reason."""
    directory = Path(directory).expanduser().resolve()
    if not directory.is_dir():
        raise TaskError(f"{directory}: {'not a folder' if directory.exists() else 'task folder not found'}")
    shinka = _shinka_files(directory)
    program_path = shinka[0] if shinka else _find_program(directory)
    code = read_text(program_path, "the program")
    find_blocks(code, source=str(program_path))
    evaluator_path = shinka[1] if shinka else directory / "evaluator.py"
    if shinka is None:
        check_evaluator(evaluator_path)
    config_path = directory / "config.yaml"
    context_path = directory / "context.md"
    context = read_text(context_path, "the context").strip() if context_path.is_file() else None
    return Task(
        directory=directory,
        name=directory.name,
        program_path=program_path,
        initial_code=code,
        evaluator_path=evaluator_path,
        config_path=config_path if config_path.is_file() else None,
        context=context or None,
        evaluator_kind="shinka" if shinka else "evoforge",
    )


def _shinka_files(directory: Path) -> tuple[Path, Path] | None:
    """(program, script) of a ShinkaEvolve task: ``initial.<ext>`` and ``evaluate.py``, and neither
    evoforge's ``initial_program.*`` nor ``evaluator.py``."""
    script = directory / "evaluate.py"
    if (
        not script.is_file()
        or (directory / "evaluator.py").exists()
        or any(directory.glob("initial_program.*"))
    ):
        return None
    programs = sorted(p for p in directory.glob("initial.*") if p.is_file())
    if len(programs) != 1:
        return None
    try:
        ast.parse(read_text(script, "the evaluator"), filename=str(script))
    except SyntaxError as error:
        raise TaskError(f"{script}:{error.lineno}: syntax error in the evaluator: {error.msg}") from None
    return programs[0], script
