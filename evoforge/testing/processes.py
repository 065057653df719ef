"""Watching processes from a test (the controller's side): shared by the sandbox and hostile tests."""

from __future__ import annotations


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (init may reap an orphan late)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False
