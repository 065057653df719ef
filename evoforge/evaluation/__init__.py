"""Evaluation of candidates: the evaluator contract and the sandbox that runs it.

``Sandbox`` is imported on first use: ``evoforge.config`` imports ``evaluation.settings``, and the
sandbox imports the config, so an eager import here would be circular.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evoforge.evaluation.sandbox import Sandbox

__all__ = ["Sandbox"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from evoforge.evaluation.sandbox import Sandbox

        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
