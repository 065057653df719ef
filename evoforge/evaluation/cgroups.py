"""Layer L3: cgroups for each evaluation slot, where the machine lets evoforge create them.

Limits that rlimits cannot give: memory and processes for the evaluation as a whole (an rlimit is per
process, so four children of 900 MiB pass a 1 GiB RLIMIT_AS), and a kill of every process it started,
daemons that left the process group included. cgroup v2 gives ``cgroup.kill`` and, where the
controllers are delegated, ``memory.max`` and ``pids.max``; cgroup v1 hierarchies (``memory``,
``pids``) give the limits on hybrid machines. The controller places the child before the child reads
its request, so nothing of the candidate ever runs outside the cgroup.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from evoforge.evaluation.cleanup import kill_until_gone

KILL_WAIT_S = 2.0


@dataclass(frozen=True)
class CgroupRoots:
    """Writable parent directories for per-slot cgroups, one per hierarchy used."""

    unified: Path | None  # cgroup v2: kill, and memory/pids when delegated
    memory_v1: Path | None
    pids_v1: Path | None

    def features(self) -> list[str]:
        found = []
        if self.unified is not None:
            found.append("kill (v2)")
            enabled = _read(self.unified / "cgroup.subtree_control").split()
            found += [f"{name} (v2)" for name in ("memory", "pids") if name in enabled]
        if self.memory_v1 is not None:
            found.append("memory (v1)")
        if self.pids_v1 is not None:
            found.append("pids (v1)")
        return found

    def without_redundant_kill(self) -> tuple[CgroupRoots | None, str]:
        """Drop a v2 hierarchy that only gives the kill, for use beside a pid namespace (which kills too).

        Every move into a cgroup can make the launch wait (5 ms for an idle process, bench/spawn.py), so
        a hierarchy that adds nothing is not joined.
        """
        if self.unified is None or any(f.endswith("(v2)") and f != "kill (v2)" for f in self.features()):
            return self, "per-slot cgroup: " + ", ".join(self.features())
        kept = dataclasses.replace(self, unified=None)
        if not kept.features():
            return None, "the pid namespace already kills every process; no cgroup limit is available here"
        return kept, "per-slot cgroup: " + ", ".join(kept.features()) + " (the pid namespace kills)"

    @property
    def limits_memory(self) -> bool:
        return any(feature.startswith("memory") for feature in self.features())


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _mounts() -> dict[str, Path]:
    """Mount point per hierarchy: 'unified' for cgroup2, else each v1 controller's name."""
    mounts: dict[str, Path] = {}
    for line in _read(Path("/proc/self/mountinfo")).splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        if tail[0] == "cgroup2":
            mounts.setdefault("unified", Path(fields[4]))
        elif tail[0] == "cgroup":
            for option in tail[2].split(","):
                mounts.setdefault(option, Path(fields[4]))
    return mounts


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per hierarchy, from /proc/self/cgroup."""
    paths = {}
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else ["unified"]:
            paths[name] = path
    return paths


def _usable(directory: Path) -> bool:
    """Whether a child cgroup can be made (and removed) here."""
    probe = directory / f"evoforge-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return False
    with contextlib.suppress(OSError):
        probe.rmdir()
    return True


@functools.cache
def probe_cgroups() -> tuple[CgroupRoots | None, str]:
    """Where per-slot cgroups can be made here, or (None, why not)."""
    if not Path("/proc/self/cgroup").exists():
        return None, "no cgroups on this system"
    mounts, paths = _mounts(), _own_paths()

    def root(name: str) -> Path | None:
        if name not in mounts or name not in paths:
            return None
        directory = mounts[name] / paths[name].lstrip("/")
        return directory if _usable(directory) else None

    unified = root("unified")
    if unified is not None and not (unified / "cgroup.procs").exists():
        unified = None
    roots = CgroupRoots(unified=unified, memory_v1=root("memory"), pids_v1=root("pids"))
    if not roots.features():
        return None, "no cgroup this process may create children in (not delegated, or read-only)"
    return roots, "per-slot cgroup: " + ", ".join(roots.features())


class SlotCgroup:
    """The cgroups of one evaluation slot: made once with their limits, joined by the slot's launcher
    (so every evaluation it forks is inside), emptied (killed) when the launcher is replaced or the
    sandbox closes, then removed.

    Reused across evaluations because creating cgroups and writing their limits costs milliseconds of
    kernel time per evaluation; the slow writes run in a worker thread, off the event loop.
    """

    def __init__(self, roots: CgroupRoots, name: str, memory_bytes: int, max_processes: int) -> None:
        self.directories: list[Path] = []
        try:
            if roots.unified is not None:
                unified = self._make(roots.unified / name)
                enabled = _read(roots.unified / "cgroup.subtree_control").split()
                if "memory" in enabled:
                    (unified / "memory.max").write_text(str(memory_bytes))
                    (unified / "memory.swap.max").write_text("0")
                if "pids" in enabled:
                    (unified / "pids.max").write_text(str(max_processes))
            if roots.memory_v1 is not None:
                memory = self._make(roots.memory_v1 / name)
                (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
            if roots.pids_v1 is not None:
                (self._make(roots.pids_v1 / name) / "pids.max").write_text(str(max_processes))
        except OSError:
            for directory in reversed(self.directories):
                with contextlib.suppress(OSError):
                    directory.rmdir()
            raise

    def _make(self, directory: Path) -> Path:
        directory.mkdir(exist_ok=True)
        self.directories.append(directory)
        return directory

    def join(self, pid: int) -> None:
        """Move ``pid`` (still waiting for its request, so running nothing yet) into every hierarchy."""
        for directory in self.directories:
            (directory / "cgroup.procs").write_text(str(pid))

    async def kill(self) -> None:
        """Kill every process of the slot, wherever it moved in the process tree (in a worker thread)."""
        await asyncio.to_thread(self.kill_now)

    def kill_now(self) -> None:
        kill_members(self.directories)

    def remove(self) -> None:
        """Remove the (emptied) cgroups; one that cannot be removed is left to the next start."""
        for directory in reversed(self.directories):
            with contextlib.suppress(OSError):
                directory.rmdir()
        self.directories.clear()


def kill_members(directories: list[Path]) -> None:
    """Kill every process in these cgroups: with ``cgroup.kill`` where there is one (v2), and one by
    one until none is left (v1 has no cgroup.kill, and v2's is asynchronous)."""
    for directory in directories:
        if (directory / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (directory / "cgroup.kill").write_text("1")

    def members() -> set[int]:
        return {int(pid) for d in directories for pid in _read(d / "cgroup.procs").split()}

    kill_until_gone(members, KILL_WAIT_S, pause_s=0.001)


def remove_cgroup(directory: Path) -> None:
    """Kill what is in a cgroup a dead evoforge process left, and remove it."""
    kill_members([directory])
    with contextlib.suppress(OSError):
        directory.rmdir()
