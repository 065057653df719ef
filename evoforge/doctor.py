"""`evoforge doctor`: what isolation this machine gives candidates, and why, before a run relies on it."""

from __future__ import annotations

import os
import platform
import sys
from typing import get_args

from evoforge.config import SandboxConfig, SandboxProperty
from evoforge.errors import EvaluatorError
from evoforge.evaluation.layers import plan_sandbox
from evoforge.evaluation.leases import holder_token, lease_directory

PROPERTIES = get_args(SandboxProperty)


def report(config: SandboxConfig) -> list[str]:
    """Lines describing the machine, each layer (active or not, and why) and the properties it gives.

    Raises ConfigError when ``config.require`` asks for a property the machine cannot provide.
    """
    plan = plan_sandbox(config)
    who = "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"
    lines = [
        f"evoforge on {platform.system()} {platform.release()}, Python {platform.python_version()}, as {who}",
        f"controller interpreter: {sys.executable}",
        f"evaluation interpreter: {plan.python}",
    ]
    for layer in plan.layers:
        lines.append(f"  [{'on ' if layer.active else 'off'}] {layer.name}: {layer.reason}")
    lines.append(
        "properties: "
        + ", ".join(f"{name} {'yes' if name in plan.properties else 'no'}" for name in PROPERTIES)
    )
    lines.append(_leases())
    if sys.platform == "darwin":
        lines.append(
            "macOS does not enforce RLIMIT_AS: memory_mb is not a limit there (see docs/security.md)"
        )
    return lines


def _leases() -> str:
    """Where slot uids and sandbox names are leased, and how many are held now (docs/security.md)."""
    try:
        directory = lease_directory()
    except EvaluatorError as error:
        return f"sandbox leases: {error}"
    held = sum(
        holder_token(int(path.stem)) is not None for path in directory.glob("*.lock") if path.stem.isdigit()
    )
    return f"sandbox leases: {directory} ({held} held by running evoforge processes)"
