"""Watching processes from a test (the controller's side): shared by the sandbox and hostile tests."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (init may reap an orphan late)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def children() -> set[int]:
    """This process's living children (a sandbox's launchers, or the bubblewrap and shims in front)."""
    found = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as listing:
            found.update(int(pid) for pid in listing.read().split())
    return found
