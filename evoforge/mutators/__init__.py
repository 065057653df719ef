"""Mutators propose children; they share one ask/tell interface so a run can mix them.

The interface is imported on first use (PEP 562), so that ``evoforge.config`` can import the mutators'
configuration sections (``evoforge.mutators.settings``) without importing the archive, which itself
reads ``evoforge.config``.
"""

from typing import Any

__all__ = ["Feedback", "Mutator", "Proposal", "ProposalRequest"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from evoforge.mutators import base

        return getattr(base, name)
    raise AttributeError(f"module 'evoforge.mutators' has no attribute {name!r}")
