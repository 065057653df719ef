"""Leases: numbers that no other evoforge process on this machine holds while this one does.

Two runs (or a run and an ``evoforge eval``) that gave their slots the same uids would let a candidate
of one kill the other's evaluations and rewrite the programs in its scratch directories. So every
sandbox leases its numbers: one for itself (its staged task folder and that folder's group), and one
per evaluation slot (the slot's uid when slots run as their own uid, its cgroup, its scratch
directory). A lease is an exclusive ``flock`` on ``<number>.lock`` in a private lease directory
(``/run/evoforge/leases``, root-owned and 0700, for root; ``$XDG_RUNTIME_DIR/evoforge/leases`` or
``~/.cache/evoforge/leases`` for any other user). The kernel drops the lock when its holder closes it
or dies, even by kill -9, so a stale lease is simply free; a held one is skipped. Lock files are never
removed: removing one could let two processes lock two different files of the same name.

Each holding writes a fresh random token into the lock file, and whatever a sandbox makes is named
after its lease and that token (``evoforge-u<euid>-<number>-<token>…``), so a later process knows
whose it is: a holding that is over (the number is free, or held under another token) left it
(leftovers.py).
"""

from __future__ import annotations

import fcntl
import functools
import os
import secrets
import stat
from pathlib import Path

from evoforge.errors import EvaluatorError
from evoforge.evaluation.cleanup import kill_until_gone

SEARCH_SPAN = 4096  # numbers tried from the start (sandbox.uid_base) before giving up
KILL_WITHIN_S = 0.5
TOKEN_BYTES = 4


def lease_directory() -> Path:
    """The private directory of this user's lease files, made (0700) if missing."""
    if os.geteuid() == 0:
        directory = Path("/run" if os.path.isdir("/run") else "/var/run") / "evoforge" / "leases"
    elif os.environ.get("XDG_RUNTIME_DIR") and os.path.isdir(os.environ["XDG_RUNTIME_DIR"]):
        directory = Path(os.environ["XDG_RUNTIME_DIR"]) / "evoforge" / "leases"
    else:
        directory = Path.home() / ".cache" / "evoforge" / "leases"
    return _private_directory(directory)


@functools.cache
def _private_directory(directory: Path) -> Path:
    """``directory``, made 0700; refused unless this user owns it and nobody else may write to it."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(directory)
    except OSError as error:
        raise EvaluatorError(f"cannot make the sandbox lease directory {directory}: {error}") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise EvaluatorError(
            f"{directory} must be a directory owned by uid {os.geteuid()} that only its owner may write to"
        )
    return directory


class Lease:
    """One held number; ``release`` (or the process's end) frees it."""

    def __init__(self, number: int, fd: int, token: str) -> None:
        self.number = number
        self.token = token
        self._fd: int | None = fd

    @property
    def name(self) -> str:
        """The prefix of whatever belongs to this holding of the lease (directories, cgroups)."""
        return f"{NAME_PREFIX}{self.number}-{self.token}"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the lock
            self._fd = None


# "u" before the uid: older evoforge versions took the field after "evoforge-" for a pid
NAME_PREFIX = f"evoforge-u{os.geteuid()}-"


def try_lease(number: int) -> Lease | None:
    """Lease ``number`` if no process holds it, else None."""
    fd = os.open(_lock_file(number), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        token = secrets.token_hex(TOKEN_BYTES)
        os.ftruncate(fd, 0)
        os.pwrite(fd, token.encode(), 0)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return Lease(number, fd, token)


def holder_token(number: int) -> str | None:
    """The token of the current holding of ``number``; None when no process holds it, "" while its
    holder is still writing the token."""
    try:
        fd = os.open(_lock_file(number), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 64, 0).decode("ascii", "replace")
        return None  # free (the shared lock goes with the descriptor)
    finally:
        os.close(fd)


def _lock_file(number: int) -> Path:
    return lease_directory() / f"{number}.lock"


def take_lease(start: int) -> Lease:
    """The first free number from ``start`` on."""
    for number in range(start, start + SEARCH_SPAN):
        lease = try_lease(number)
        if lease is not None:
            return lease
    raise EvaluatorError(
        f"no free sandbox lease among {SEARCH_SPAN} numbers from {start} ({lease_directory()}): "
        "too many evoforge processes at once, or choose another sandbox.uid_base"
    )


def kill_processes_of(uid: int) -> None:
    """Kill every process running as ``uid``: what a dead holder's candidates left (a leased uid has
    no other legitimate user)."""
    kill_until_gone(lambda: [pid for pid in _pids() if _real_uid(pid) == uid], KILL_WITHIN_S, pause_s=0.01)


def _pids() -> list[int]:
    try:
        return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return []


def _real_uid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class SandboxLeases:
    """The leases of one sandbox: its own (naming its staged task folder, and that folder's group when
    slots have their own uid) and one per evaluation slot, taken on the slot's first use.

    With ``separate_uid``, a slot's number is its uid and the sandbox's own number the group of its
    staged folder; processes a dead holder left under that uid are killed before the number is used.
    """

    def __init__(self, start: int, separate_uid: bool) -> None:
        self._start = start
        self._separate_uid = separate_uid
        self._slots: dict[int, Lease] = {}
        self.own = self._take()

    def _take(self) -> Lease:
        lease = take_lease(self._start)
        if self._separate_uid:
            kill_processes_of(lease.number)
        return lease

    def slot(self, number: int) -> Lease:
        if number not in self._slots:
            self._slots[number] = self._take()
        return self._slots[number]

    def slot_uid(self, number: int) -> int | None:
        return self.slot(number).number if self._separate_uid else None

    @property
    def group(self) -> int | None:
        """The group that may read the staged task folder (None: only this user)."""
        return self.own.number if self._separate_uid else None

    def release(self) -> None:
        for lease in (*self._slots.values(), self.own):
            lease.release()
        self._slots.clear()
