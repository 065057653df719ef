"""How a slot's warm launcher is started under the planned layers: command, environment, identity.

The launcher and its evaluations never see the controller's files: they load the evaluator from the
sandbox's private copy of the task folder (staging.py), and each slot gets its own scratch directory
owned by its uid (scratch.py; under bubblewrap, a size-capped tmpfs), emptied by the launcher after
every evaluation; with Landlock, the only place besides /dev/shm where an evaluation may write.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import evoforge
from evoforge.evaluation.layers import SandboxPlan
from evoforge.maththreads import SINGLE_THREAD_MATH

LAUNCHER = Path(__file__).with_name("sandboxed_launcher.py")
# No site module: the launcher puts the controller's site directories on sys.path itself and reads
# their .pth files only if an import needs them (an editable install's finder costs ~11 ms).
CHILD_FLAGS = ("-S",)
SCRATCH_INSIDE = Path("/scratch")
# With cgroups, the launcher's process waits for one line on stdin (sent once the controller has
# moved it into its slot's cgroups) before it becomes the real command: nothing runs outside them.
CGROUP_SHIM = ("/bin/sh", "-c", 'read -r _ && exec "$@"', "evoforge-shim")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/alternatives")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime")
SHARED_MEMORY = "/dev/shm"  # writable under Landlock: multiprocessing's semaphores live there


@dataclass(frozen=True)
class Launch:
    """Everything Popen needs to start a slot's launcher, plus the paths as the launcher sees them."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    scratch: Path  # the slot's scratch directory, as seen inside
    evaluator: Path  # the evaluator file, as seen inside
    uid: int | None  # the slot's own uid, when candidates run apart from the controller's
    identity: dict[str, object]  # user/group/extra_groups for Popen, when setpriv is missing
    landlock: dict[str, object] | None  # where evaluations may write (layer L1'), as seen inside


def child_environment(home: Path, plan: SandboxPlan) -> dict[str, str]:
    """An allow-listed environment: nothing of the controller's (no API keys) but its PATH.

    Math libraries get one thread each: evaluations already run in parallel, and per-thread
    arenas would eat the address-space limit. When the child interpreter is not the controller's,
    PYTHONPATH lets the evaluator's own subprocesses find the controller's packages.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if plan.python != sys.executable and plan.site_dirs:
        env["PYTHONPATH"] = os.pathsep.join(plan.site_dirs)
    env.update(dict.fromkeys(SINGLE_THREAD_MATH, "1"))
    return env


def _drop_privileges(
    plan: SandboxPlan, uid: int | None, group: int | None
) -> tuple[list[str], dict[str, object]]:
    """How the child becomes ``uid`` (gid ``uid``, and ``group``, the one that may read the staged task
    folder, as its only supplementary group): a ``setpriv`` prefix, else Popen's ``user=`` (slower).

    Python gives up vfork when Popen must change uid, and then forks the whole controller on its
    event-loop thread: 3 ms at 60 MB, 18 ms at 230 MB. setpriv leaves the spawn a plain vfork+exec.
    """
    if uid is None:
        return [], {}
    groups = [] if group is None else [group]
    if plan.setpriv is not None:
        keep = f"--groups={group}" if group is not None else "--clear-groups"
        return [plan.setpriv, f"--reuid={uid}", f"--regid={uid}", keep, "--"], {}
    return [], {"user": uid, "group": uid, "extra_groups": groups}


def build_launch(
    plan: SandboxPlan, evaluator: Path, scratch: Path, uid: int | None, group: int | None
) -> Launch:
    """The command that starts a slot's launcher as ``uid`` (its leased uid, or None: evoforge's own),
    wrapped in bubblewrap when active."""
    drop, identity = _drop_privileges(plan, uid, group)
    shim = [*(CGROUP_SHIM if plan.cgroups is not None else ()), *drop]
    launcher = [plan.python, *CHILD_FLAGS, str(LAUNCHER)]
    if plan.bwrap is None:
        argv, inside = [*shim, *launcher], scratch
    else:
        inside = SCRATCH_INSIDE
        argv = [*shim, *_namespace_argv(plan, evaluator), "--chdir", str(inside), "--remount-ro", "/"]
        argv += ["--", *launcher]
    return Launch(
        argv=argv,
        env=child_environment(inside, plan),
        cwd=scratch,
        scratch=inside,
        evaluator=evaluator,
        uid=uid,
        identity=identity,
        landlock=_write_rules(plan, inside),
    )


def _write_rules(plan: SandboxPlan, scratch: Path) -> dict[str, object] | None:
    """Where an evaluation may write under Landlock: its scratch directory, /dev/shm, /dev/null."""
    if plan.landlock is None:
        return None
    return {"abi": plan.landlock, "directories": [str(scratch), SHARED_MEMORY], "files": [os.devnull]}


@functools.cache
def _namespace_argv(plan: SandboxPlan, evaluator: Path) -> tuple[str, ...]:
    """bubblewrap's options that are the same for every evaluation of a sandbox (probed once).

    The root is a tmpfs too, remounted read-only by the caller, so nothing can be written outside
    the capped scratch.
    """
    assert plan.bwrap is not None
    argv = [plan.bwrap, "--unshare-all", "--die-with-parent", "--proc", "/proc", "--dev", "/dev"]
    for path in SYSTEM_DIRS:
        argv += _mirror(path)
    for path in SYSTEM_FILES:
        if os.path.exists(path):
            argv += ["--ro-bind", path, path]
    for path in _private_binds(plan, evaluator):
        argv += ["--ro-bind", path, path]
    argv += ["--size", str(plan.scratch_mb * 1024 * 1024), "--tmpfs", str(SCRATCH_INSIDE)]
    return tuple(argv)


def _mirror(path: str) -> list[str]:
    """Bind a system directory read-only, or recreate it as the same symlink (merged /usr)."""
    if os.path.islink(path):
        return ["--symlink", os.readlink(path), path]
    if os.path.isdir(path):
        return ["--ro-bind", path, path]
    return []


def _private_binds(plan: SandboxPlan, evaluator: Path) -> list[str]:
    """The non-system directories the child needs: the interpreter, packages, evoforge, the evaluator."""
    wanted = {str(evaluator.parent), str(LAUNCHER.parent), str(Path(evoforge.__file__).parent)}
    if plan.python == sys.executable:
        wanted |= {sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent.parent)}
    wanted |= set(plan.site_dirs)
    system = tuple(d + "/" for d in SYSTEM_DIRS)
    chosen = sorted(p for p in wanted if not (p + "/").startswith(system) and os.path.isdir(p))
    # A directory inside another one already bound comes with it.
    return [p for p in chosen if not any(p != q and p.startswith(q + "/") for q in chosen)]
