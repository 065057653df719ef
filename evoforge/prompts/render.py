"""The Jinja2 templates of the prompts: shipped in the package, overridable per task file by file.

A task's ``prompts/`` folder (or ``prompt.template_dir``) may hold any of ``TEMPLATE_NAMES``; each one
found there replaces the shipped template of the same name, the others stay. Overrides are checked at
start-up (``Templates.check``): an unknown file name, a syntax error, a missing include or a variable no
template provides is a one-line TaskError naming the file, never a failure mid-run.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evoforge.errors import ConfigError, TaskError

TEMPLATE_NAMES = ("system.j2", "user.j2", "diff.j2", "rewrite.j2", "crossover.j2")
SHIPPED = Path(__file__).with_name("templates")
TASK_FOLDER = "prompts"


def template_dir(task_dir: Path, configured: str | None) -> Path | None:
    """The folder of a task's overrides: ``configured`` (relative to the task), else ``prompts/``."""
    if configured is None:
        folder = task_dir / TASK_FOLDER
        return folder if folder.is_dir() else None
    folder = (task_dir / configured).resolve()
    if not folder.is_dir():
        raise ConfigError(f"prompt.template_dir: {folder}: folder not found")
    return folder


class Templates:
    """The five prompt templates, each from the override folder when it holds it, else the package."""

    def __init__(self, override: Path | None = None) -> None:
        import jinja2

        self.override = override
        folders = [str(override)] if override is not None else []
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*folders, str(SHIPPED)]),
            undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not an empty string
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,  # prompts are plain text, not HTML
            auto_reload=False,  # read once: no stat() of every template file on every prompt
        )
        if override is not None:
            unknown = sorted(
                p.name for p in override.iterdir() if p.suffix == ".j2" and p.name not in TEMPLATE_NAMES
            )
            if unknown:
                raise TaskError(
                    f"{override / unknown[0]}: not a prompt template name "
                    f"(the templates are {', '.join(TEMPLATE_NAMES)})"
                )

    def render(self, name: str, variables: dict[str, Any]) -> str:
        return self._env.get_template(name).render(variables)

    def check(self, render_all: Callable[[], object]) -> None:
        """Run ``render_all`` (which renders every template once); turn a template error into a TaskError."""
        import jinja2

        try:
            render_all()
        except jinja2.TemplateSyntaxError as error:
            raise TaskError(
                f"{error.filename or error.name}:{error.lineno}: template syntax error: {error.message}"
            ) from None
        except jinja2.TemplateNotFound as error:
            raise TaskError(f"{self._culprit(error)}: template not found: {error.name}") from None
        except jinja2.TemplateError as error:
            raise TaskError(f"{self._culprit(error)}: template error: {error.message}") from None

    def _culprit(self, error: BaseException) -> str:
        """The template file (path:line) where ``error`` arose, from the frames Jinja2 maps to templates."""
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.endswith(".j2")]
        if not frames:
            return str(self.override or SHIPPED)
        where = f"{frames[-1].filename}:{frames[-1].lineno}"
        if self.override is not None and Path(frames[-1].filename).parent != self.override:
            where += f" (a shipped template, rendered with the overrides in {self.override})"
        return where


def load_context_files(task_dir: Path, names: list[str]) -> list[tuple[str, str]]:
    """(name, text) of each of ``prompt.context_files``, read once at start-up; a missing one is an error."""
    from evoforge.task import read_text

    files = []
    for name in names:
        path = task_dir / name
        if not path.is_file():
            raise ConfigError(f"prompt.context_files: {path}: file not found")
        files.append((name, read_text(path, "a context file").strip()))
    return files
