"""What dead sandboxes leave behind, found by the lease it is named after, and removed.

A controller killed by kill -9 or SIGHUP leaves its staged task folder, its slots' scratch directories
and its cgroups. Every one of them is named after a holding of a lease of the sandbox that made it
(``evoforge-u<euid>-<number>-<token>…``, leases.py), so its owner is known, in any pid namespace,
without trusting pids: when the number is free, or held under another token, its holder is gone.
Every sandbox removes such leftovers when it starts (``sweep``), wherever sandboxes make things.

Only entries owned by this user, or by the lease's number as a uid (a slot's scratch directory), are
touched; removal never follows a symbolic link.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from evoforge.evaluation.cgroups import remove_cgroup
from evoforge.evaluation.layers import SandboxPlan
from evoforge.evaluation.leases import NAME_PREFIX, holder_token, try_lease
from evoforge.evaluation.scratch import release_scratch

Place = tuple[Path, Callable[[Path], object]]  # a directory, and how to remove what is left in it


def places(plan: SandboxPlan, scratch_root: Path | None) -> list[Place]:
    """Where a sandbox of ``plan`` makes things: the temporary directory (stage, scratch), the
    sandbox's scratch root, the cgroup hierarchies."""
    found: dict[Path, Callable[[Path], object]] = {Path(tempfile.gettempdir()): release_scratch}
    if scratch_root is not None:
        found[Path(scratch_root)] = release_scratch
    if plan.cgroups is not None:
        roots = (plan.cgroups.unified, plan.cgroups.memory_v1, plan.cgroups.pids_v1)
        found.update((root, remove_cgroup) for root in roots if root is not None)
    return list(found.items())


def _named(directory: Path) -> list[tuple[Path, int, str]]:
    """The entries of ``directory`` named after a lease of this user: path, number, token."""
    pattern = re.compile(rf"^{re.escape(NAME_PREFIX)}(\d+)-([0-9a-f]+)(-|$)")
    found = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                match = pattern.match(entry.name)
                if match is None or not entry.is_dir(follow_symlinks=False):
                    continue
                number = int(match.group(1))
                if entry.stat(follow_symlinks=False).st_uid in (os.geteuid(), number):
                    found.append((Path(entry.path), number, match.group(2)))
    except OSError:
        pass
    return found


def sweep(where: list[Place]) -> None:
    """Remove what holdings that are over left: their number is free (taken here while its things go,
    so that no new holder starts meanwhile) or held under another token."""
    for directory, remove in where:
        for path, number, token in _named(directory):
            holder = holder_token(number)
            if holder is not None and holder in (token, ""):
                continue  # its holder is alive (or is just writing its token)
            lease = try_lease(number) if holder is None else None
            if holder is None and lease is None:
                continue  # taken since: by a new holder, whose token is another
            try:
                remove(path)
            finally:
                if lease is not None:
                    lease.release()
