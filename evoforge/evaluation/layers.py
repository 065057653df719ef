"""Which isolation layers this machine offers, probed once per process, and what a run may rely on.

L0 (everywhere): a per-slot launcher interpreter that forks a clean process per evaluation, allow-
listed environment, scratch directory emptied after each evaluation, rlimits set by the evaluation
itself, capped output, wall-clock and CPU timeouts, process-group kill.
L1 (Linux): the launcher is a subreaper that kills every descendant after each evaluation, dies with
the controller (parent-death signal); evaluations offer themselves to the OOM killer first.
L1' (Landlock, Linux >= 5.13, no privilege needed): each evaluation may write only beneath its scratch
directory and /dev/shm (and to /dev/null), so neither the staged evaluator nor the task folder nor
another run's files can be changed; from Landlock ABI 6 (Linux 6.12) it may signal only its own
processes (landlock.py).
Separate uid (root only): each evaluation slot runs as its own unprivileged uid, leased so that no
other evoforge process uses it (leases.py), so a candidate cannot signal the controller or another
run, read their memory or environment, or open the database.
L2 (bubblewrap): new pid, network, ipc and uts namespaces, a read-only view of only what the
evaluator needs, and a size-capped in-memory scratch directory. Launched as the unprivileged uid.
L2' (seccomp, where bubblewrap cannot run): a filter that refuses every socket but AF_UNIX.
L3 (cgroups, where this process may create them): memory and processes of the evaluation as a whole,
and a kill of every process it started (cgroups.py).
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from evoforge.config import SandboxConfig
from evoforge.errors import ConfigError
from evoforge.evaluation import landlock
from evoforge.evaluation.cgroups import CgroupRoots, probe_cgroups

log = logging.getLogger(__name__)

SYSTEM_PYTHON = "/usr/bin/python3"
PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Layer:
    """One layer: whether it is active for this run and, in one line, why (or why not)."""

    name: str
    active: bool
    reason: str


@dataclass(frozen=True)
class SandboxPlan:
    """The layers a sandbox applies, resolved from the config and the machine."""

    layers: tuple[Layer, ...]
    python: str  # the interpreter of the evaluation child
    site_dirs: tuple[str, ...] = ()  # this interpreter's packages, put on the child's sys.path
    uid_base: int | None = None  # set when slots run as their own (leased) uids, from this one on (root)
    lease_start: int = 61000  # where this sandbox's lease numbers are searched from (sandbox.uid_base)
    landlock: int | None = None  # the Landlock ABI the evaluations confine their writes with
    setpriv: str | None = None  # how the child drops to its uid (else Popen's slower user=)
    bwrap: str | None = None
    seccomp: str | None = None  # libseccomp to load in the child (only when bubblewrap is off)
    cgroups: CgroupRoots | None = None
    scratch_mb: int = 512
    preload: tuple[str, ...] | None = None  # modules the launchers import; None: the evaluator's imports

    @property
    def properties(self) -> frozenset[str]:
        """What the layers guarantee, for ``sandbox.require`` and the hostile tests."""
        properties = set()
        if self.cgroups is not None and self.cgroups.limits_memory:
            properties.add("memory_total")
        if self.seccomp is not None:
            properties.add("network_off")
        if self.uid_base is not None:
            properties.update({"separate_uid", "signals_confined"})
        if sys.platform.startswith("linux"):
            properties.add("tree_kill")
        if self.landlock is not None:
            properties.add("writes_confined")
            if self.landlock >= landlock.SCOPE_ABI:
                properties.add("signals_confined")
        if self.bwrap is not None:
            properties.update(
                {"network_off", "pid_namespace", "private_filesystem", "writes_confined", "signals_confined"}
            )
        return frozenset(properties)

    @property
    def watch_stage(self) -> bool:
        """Whether nothing stops a candidate from writing to the staged task folder, so that it must be
        checked after every evaluation (staging.py)."""
        return self.landlock is None and self.bwrap is None and self.uid_base is None

    def active(self, name: str) -> bool:
        return any(layer.name == name and layer.active for layer in self.layers)

    def describe(self) -> str:
        """One line for the run log: the active layers."""
        names = [layer.name for layer in self.layers if layer.active]
        return "sandbox layers: " + ", ".join(names)


def _world_readable(path: Path) -> bool:
    """True when any uid can execute/read ``path``: every directory above it searchable by others."""
    path = path.resolve()
    try:
        if not path.stat().st_mode & stat.S_IROTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)
    except OSError:
        return False


def _same_version(python: str) -> bool:
    wanted = f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        probe = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.stdout.strip() == wanted


def site_dirs() -> tuple[str, ...]:
    """Where this interpreter finds installed packages (a venv's site-packages, editable finders)."""
    import site

    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    return tuple(d for d in dirs if os.path.isdir(d) and d.startswith(sys.prefix))


@functools.cache
def unprivileged_python() -> tuple[str | None, str]:
    """An interpreter an unprivileged uid can run, with this one's packages; (None, why) if none."""
    if _world_readable(Path(sys.executable)) and _world_readable(Path(sys.base_prefix) / "lib"):
        return sys.executable, f"{sys.executable} is readable by any uid"
    if not os.path.exists(SYSTEM_PYTHON):
        return None, f"{sys.executable} is not readable by other uids and {SYSTEM_PYTHON} does not exist"
    if not _same_version(SYSTEM_PYTHON):
        return None, f"{sys.executable} is not readable by other uids and {SYSTEM_PYTHON} is another version"
    unreadable = [d for d in site_dirs() if not _world_readable(Path(d))]
    if unreadable:
        return None, f"the packages in {unreadable[0]} are not readable by other uids"
    return SYSTEM_PYTHON, f"{sys.executable} is private to root, so candidates use {SYSTEM_PYTHON}"


@functools.cache
def probe_bwrap(uid: int | None) -> tuple[str | None, str]:
    """The bubblewrap binary if it can build a sandbox here (as ``uid`` when given); else (None, why)."""
    binary = shutil.which("bwrap")
    if binary is None:
        return None, "bubblewrap is not installed (apt-get install bubblewrap)"
    command = [binary, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    try:
        probe = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            **({"user": uid, "group": uid, "extra_groups": []} if uid is not None else {}),
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"bubblewrap cannot start: {error}"
    if probe.returncode != 0:
        detail = (probe.stderr.strip().splitlines() or [f"exit code {probe.returncode}"])[-1]
        return None, f"bubblewrap cannot create namespaces here ({detail}); user namespaces may be blocked"
    return binary, f"{binary} creates pid, network and mount namespaces"


def plan_sandbox(config: SandboxConfig) -> SandboxPlan:
    """Resolve the layers for a run; raise ConfigError when a required property cannot be met."""
    linux = sys.platform.startswith("linux")
    layers = [Layer("L0 process limits", True, "clean fork per evaluation, rlimits, capped output, timeouts")]
    if linux:
        layers.append(Layer("L1 supervisor", True, "subreaper kills every descendant; dies with evoforge"))
    else:
        layers.append(Layer("L1 supervisor", False, f"needs Linux (this is {sys.platform})"))
    python, uid_base = sys.executable, None
    if os.geteuid() != 0:
        layers.append(Layer("separate uid", False, "evoforge is not root: candidates share its uid"))
    elif config.isolation == "process":
        layers.append(Layer("separate uid", False, "sandbox.isolation is 'process'"))
    else:
        candidate, why = unprivileged_python()
        if candidate is None:
            layers.append(Layer("separate uid", False, why))
        else:
            python, uid_base = candidate, config.uid_base
            layers.append(
                Layer("separate uid", True, f"slots run as leased uids from {config.uid_base} on; {why}")
            )
    landlock, why = probe_landlock() if config.landlock else (None, "sandbox.landlock is false")
    layers.append(Layer("L1' landlock", landlock is not None, why))
    bwrap = None
    if not linux:
        layers.append(Layer("L2 bubblewrap", False, f"needs Linux (this is {sys.platform})"))
    elif config.isolation == "process":
        layers.append(Layer("L2 bubblewrap", False, "sandbox.isolation is 'process'"))
    else:
        bwrap, why = probe_bwrap(uid_base)
        layers.append(Layer("L2 bubblewrap", bwrap is not None, why))
    seccomp = None
    if bwrap is None and linux and config.isolation == "auto":
        seccomp, why = find_seccomp()
        layers.append(Layer("L2' seccomp network filter", seccomp is not None, why))
    cgroups = None
    if linux and config.isolation == "auto" and not config.cgroups:
        layers.append(Layer("L3 cgroup", False, "sandbox.cgroups is false"))
    elif linux and config.isolation == "auto":
        cgroups, why = probe_cgroups()
        if cgroups is not None and bwrap is not None:
            cgroups, why = cgroups.without_redundant_kill()
        layers.append(Layer("L3 cgroup", cgroups is not None, why))
    plan = SandboxPlan(
        layers=tuple(layers),
        python=python,
        site_dirs=site_dirs(),
        uid_base=uid_base,
        lease_start=config.uid_base,
        landlock=landlock,
        setpriv=shutil.which("setpriv") if uid_base is not None else None,
        bwrap=bwrap,
        seccomp=seccomp,
        cgroups=cgroups,
        scratch_mb=config.scratch_mb,
        preload=None if config.preload == "auto" else tuple(_importable(config.preload)),
    )
    _check_required(plan, config.require)
    _log_once(plan.describe())
    return plan


def _importable(names: list[str]) -> list[str]:
    """The modules named in ``sandbox.preload``; checked by their top-level package, never imported here."""
    import importlib.util

    for name in names:
        top = name.split(".")[0]
        if not top.isidentifier() or importlib.util.find_spec(top) is None:
            raise ConfigError(f"sandbox.preload: no module named {top!r} is installed")
    return names


@functools.cache
def _log_once(description: str) -> None:
    log.info(description)


@functools.cache
def probe_landlock() -> tuple[int | None, str]:
    """The Landlock ABI evaluations can confine their writes with, or (None, why not)."""
    if not sys.platform.startswith("linux"):
        return None, f"needs Linux (this is {sys.platform})"
    try:
        version = landlock.abi()
    except OSError as error:
        if error.errno == errno.ENOSYS:
            return None, "this kernel has no Landlock (Linux 5.13 or later has it)"
        return None, f"Landlock is not enabled in this kernel ({error.strerror}; see the lsm= boot option)"
    signals = (
        " and signal only their own processes"
        if version >= landlock.SCOPE_ABI
        else f"; ABI {landlock.SCOPE_ABI} (Linux 6.12) would also confine their signals"
    )
    return version, f"ABI {version}: evaluations write only beneath their scratch and /dev/shm{signals}"


@functools.cache
def find_seccomp() -> tuple[str | None, str]:
    """The libseccomp shared library, if installed: the fallback network filter needs it."""
    import ctypes.util

    library = ctypes.util.find_library("seccomp")
    if library is None:
        return None, "libseccomp is not installed (apt-get install libseccomp2)"
    return library, f"bubblewrap is off, so {library} refuses every socket but AF_UNIX"


def _check_required(plan: SandboxPlan, required: list[str]) -> None:
    missing = [name for name in required if name not in plan.properties]
    if not missing:
        return
    reasons = "; ".join(f"{layer.name}: {layer.reason}" for layer in plan.layers if not layer.active)
    raise ConfigError(
        f"sandbox.require asks for {', '.join(missing)}, which this machine cannot provide ({reasons})"
    )
