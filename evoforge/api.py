"""The Python API: evolve() runs the same loop as `evoforge run`; load_run() reads a run."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from evoforge.config import Config, load_config
from evoforge.errors import StoreError
from evoforge.runner import RunResult, run_evolution
from evoforge.runview import RunView
from evoforge.task import Task, load_task

T = TypeVar("T")


def default_run_dir(task: Task) -> Path:
    """``runs/<task>-<YYYYmmdd-HHMMSS>`` under the current directory."""
    return Path("runs") / f"{task.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def resolve_config(
    task: Task, config: Config | dict[str, Any] | str | Path | None, sets: list[str]
) -> Config:
    """The task's config.yaml, or the given config (object, dict or YAML path), with ``key=value`` sets."""
    if isinstance(config, Config):
        return load_config(None, sets, base=config.model_dump()) if sets else config
    if isinstance(config, dict):
        return load_config(None, sets, base=config)
    path = Path(config) if config is not None else task.config_path
    return load_config(path, sets)


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end, also from inside a running event loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, name="evoforge-run")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def evolve(
    task_dir: str | Path,
    run_dir: str | Path | None = None,
    iterations: int | None = None,
    config: Config | dict[str, Any] | str | Path | None = None,
    **overrides: Any,
) -> RunResult:
    """Evolve the task in ``task_dir`` and return the best program found.

    ``config`` is a Config, a dict, or a YAML path (default: the task's config.yaml). Keyword
    overrides use ``__`` for nesting: ``evolve("t", evaluation__timeout_s=5, seed=3)``.
    """
    task = load_task(task_dir)
    sets = [f"{key.replace('__', '.')}={_yaml_scalar(value)}" for key, value in overrides.items()]
    resolved = resolve_config(task, config, sets)
    target = _run_dir(run_dir) if run_dir is not None else default_run_dir(task)
    return run_sync(run_evolution(target, task=task, config=resolved, iterations=iterations))


def resume(run_dir: str | Path, iterations: int | None = None) -> RunResult:
    """Continue the run in ``run_dir`` (after a crash, a kill or a clean stop)."""
    return run_sync(run_evolution(_run_dir(run_dir), iterations=iterations))


def load_run(run_dir: str | Path) -> RunView:
    """Open a finished or live run read-only."""
    return RunView(_run_dir(run_dir))


def _run_dir(value: str | Path) -> Path:
    """``value`` as a run directory; an empty string (an unset variable, say) is refused, never read as
    the current directory."""
    if isinstance(value, str) and not value.strip():
        raise StoreError("run_dir is empty: name the folder the run is stored in")
    return Path(value)


def _yaml_scalar(value: Any) -> str:
    """JSON is YAML: a value survives the round trip through a ``key=value`` override."""
    return json.dumps(value)
