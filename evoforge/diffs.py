"""Parent → child unified diffs, for ``evoforge show`` and reports."""

from __future__ import annotations

import difflib

from evoforge.blocks import split_lines

_NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(
    parent_code: str,
    child_code: str,
    parent_label: str = "parent",
    child_label: str = "child",
    context: int = 3,
) -> str:
    """A unified diff of two program texts, ``""`` when they are equal.

    A last line without a newline is flagged the way ``diff`` and ``git`` do, so a change of the final
    newline alone stays visible and every diff line ends with a newline. Lines split on ``\\n`` only, so a
    form feed inside a line does not fake a line break.
    """
    lines = difflib.unified_diff(
        split_lines(parent_code),
        split_lines(child_code),
        fromfile=parent_label,
        tofile=child_label,
        n=context,
    )
    return "".join(line if line.endswith("\n") else f"{line}\n{_NO_NEWLINE}" for line in lines)
