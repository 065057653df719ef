"""Parent → child unified diffs, for `evoforge show` and reports."""

from __future__ import annotations

import difflib


def unified_diff(
    parent_code: str,
    child_code: str,
    parent_label: str = "parent",
    child_label: str = "child",
    context: int = 3,
) -> str:
    """A unified diff of two program texts ('' when they are equal)."""
    lines = difflib.unified_diff(
        parent_code.splitlines(keepends=True),
        child_code.splitlines(keepends=True),
        fromfile=parent_label,
        tofile=child_label,
        n=context,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
