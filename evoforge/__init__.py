"""evoforge: an open evolutionary coding agent.

``evolve(task_dir, ...)`` runs the loop from Python; ``load_run(run_dir)`` reads a finished or live
run. Heavy modules load on first use so that ``import evoforge`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evoforge.records import EvaluationResult

__version__ = "0.1.0"

__all__ = ["EvaluationResult", "RunResult", "RunView", "__version__", "evolve", "load_run"]

if TYPE_CHECKING:
    from evoforge.api import evolve, load_run
    from evoforge.runner import RunResult
    from evoforge.runview import RunView

_LAZY = {
    "evolve": "evoforge.api",
    "load_run": "evoforge.api",
    "RunResult": "evoforge.runner",
    "RunView": "evoforge.runview",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'evoforge' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
