"""What the warm launchers import before they fork evaluations, and saying once when that fails.

The launcher imports these names inside the sandbox and reports the ones that failed in its ready
message; an evaluation that needs such a module reports the import error itself, so the failure is
logged once per run and module here, not raised.
"""

from __future__ import annotations

import logging
from pathlib import Path

from evoforge.evaluation.layers import SandboxPlan

log = logging.getLogger(__name__)
_reported: set[str] = set()


def modules_to_preload(plan: SandboxPlan, evaluator: Path) -> list[str]:
    """What the launchers import before forking: ``sandbox.preload``, by default the evaluator's imports.

    Those are the top-level ``import`` and ``from ... import`` statements of the evaluator file, less
    its own sibling modules (imported afresh by each evaluation, like the evaluator itself). Each
    evaluation then starts with them loaded (circle_packing_26: 90 → 26 ms, bench/launch.py).
    """
    if plan.preload is not None:
        return list(plan.preload)
    import ast

    try:
        tree = ast.parse(evaluator.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    local = {path.stem for path in evaluator.parent.iterdir()} | {"__future__"}
    return [name for name in dict.fromkeys(names) if name.split(".")[0] not in local]


def report_failed_preloads(failures: dict[str, str]) -> None:
    """Log each module the launcher could not preload, once per process (every slot reports it)."""
    for name, error in sorted(failures.items()):
        if name not in _reported:
            _reported.add(name)
            log.warning(
                "sandbox.preload: importing %s failed in the sandbox (%s); each evaluation imports it itself",
                name,
                error,
            )
