"""The sandbox layer combinations a machine offers, for tests that must hold in each of them.

What a user gets depends on the machine: a laptop without root or bubblewrap runs candidates as its
own user (``process``; on macOS or a kernel without Landlock, ``process-no-landlock``), a root server
gives each slot a uid of its own (``separate-uid``, and with Landlock ``all-layers``), a machine with
bubblewrap adds namespaces (``bubblewrap``). A combination this machine cannot build comes with the
reason, so that a test can say why it was skipped instead of passing silently.
"""

from __future__ import annotations

import dataclasses
import functools

from evoforge.config import SandboxConfig
from evoforge.evaluation.cgroups import probe_cgroups
from evoforge.evaluation.layers import SandboxPlan, find_seccomp, plan_sandbox

NAMES = ("process", "process-no-landlock", "separate-uid", "all-layers", "bubblewrap")


@functools.cache
def layer_combinations() -> dict[str, tuple[SandboxPlan | None, str]]:
    """Each combination by name: its plan, or None and why this machine cannot build it."""
    process = plan_sandbox(SandboxConfig(isolation="process"))
    every = plan_sandbox(SandboxConfig())
    # Without bubblewrap: the seccomp network filter and the full cgroups take its place.
    namespaceless = dataclasses.replace(
        every, bwrap=None, seccomp=find_seccomp()[0], cgroups=probe_cgroups()[0]
    )
    combinations: dict[str, tuple[SandboxPlan | None, str]] = {
        "process": (process, "")
        if process.landlock is not None
        else (None, "no Landlock here: the same as process-no-landlock"),
        "process-no-landlock": (dataclasses.replace(process, landlock=None), ""),
        "separate-uid": (dataclasses.replace(namespaceless, landlock=None), ""),
        "all-layers": (namespaceless, ""),
        "bubblewrap": (every, ""),
    }
    if every.uid_base is None:
        why = next(layer.reason for layer in every.layers if layer.name == "separate uid")
        combinations["separate-uid"] = (None, why)
    if namespaceless.landlock is None:
        combinations["all-layers"] = (None, "no Landlock here: the same as separate-uid")
    if every.bwrap is None:
        combinations["bubblewrap"] = (None, "bubblewrap cannot run here (evoforge doctor says why)")
    return combinations
