"""The staged task folder: the private copy that every evaluation loads the evaluator from.

Evaluations never see the real task folder, only this copy, made once per sandbox. It holds the task's
own files and nothing of a run: no directory holding a run (``evoforge.db`` or ``run.lock`` inside),
no ``evoforge.db*`` or ``run.lock`` file (``evoforge run . --run-dir .`` puts the run in the task
folder itself), no hidden files, no caches. It is private: 0700, or, when slots run as their own
uids, 0750/0640 owned by root with the sandbox's leased number as its group, which the slots' uids
(and no other uid) carry as their one supplementary group; another run's candidates cannot read it.

Candidates cannot change it where a layer confines their writes (Landlock, bubblewrap's read-only
view, or a separate uid, which only has read access). Where none does (macOS, a kernel without
Landlock), the copy's fingerprint (every entry's inode, size, mode, mtime and ctime: a changed file
changes its ctime, which no unprivileged process can set back) is checked after every evaluation: a
changed copy fails the evaluations that overlapped the change and is staged afresh before the next.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from evoforge.errors import EvaluatorError
from evoforge.evaluation.scratch import release_scratch
from evoforge.runfiles import DB_FILENAME, LOCK_FILENAME

TAMPERED = "the candidate modified the evaluator's files (the staged task folder); it was staged afresh"


RUN_MARKERS = (DB_FILENAME, LOCK_FILENAME)


def _ignore_private(directory: str, names: list[str]) -> set[str]:
    """Leave out what a candidate must not see or need: runs, hidden files, caches."""
    return {name for name in names if is_private(os.path.join(directory, name))}


def is_private(path: str) -> bool:
    """What no evaluation sees of a task folder (the Ray backend ships the folder without it too)."""
    name = os.path.basename(path)
    if name.startswith((".", DB_FILENAME)) or name in ("__pycache__", LOCK_FILENAME):
        return True
    return os.path.isdir(path) and any(os.path.lexists(os.path.join(path, f)) for f in RUN_MARKERS)


Fingerprint = list[tuple[str, int, int, int, int, int]]


def _identity(path: str, info: os.stat_result) -> tuple[str, int, int, int, int, int]:
    return (path, info.st_ino, info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def fingerprint(root: Path) -> Fingerprint:
    """Every entry under ``root`` (itself included) with what any change to it changes."""
    found = [_identity(str(root), os.lstat(root))]
    pending = [str(root)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                found.append(_identity(entry.path, entry.stat(follow_symlinks=False)))
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
    return sorted(found)


class Stage:
    """A sandbox's private copy of the task folder.

    ``group``: the gid that may read it (slots with their own uid), else only this user may.
    ``watch``: nothing stops a candidate from writing to it, so ``check`` compares fingerprints.
    """

    def __init__(self, evaluator: Path, prefix: str, group: int | None, watch: bool) -> None:
        self._source = evaluator.parent
        self._group = group
        self._watch = watch
        self.root = Path(tempfile.mkdtemp(prefix=f"{prefix}-stage-"))
        self.evaluator = self.root / "task" / evaluator.name
        self.generation = 0  # how many times the copy was made afresh
        self._fingerprint: Fingerprint = []
        try:
            self._copy()
        except BaseException:
            self.remove()
            raise

    def _copy(self) -> None:
        staged = self.root / "task"
        shutil.copytree(self._source, staged, ignore=_ignore_private, symlinks=False)
        for path in (*staged.rglob("*"), staged, self.root):
            if self._group is not None:
                os.chown(path, 0, self._group, follow_symlinks=False)
            mode = 0o750 if path.is_dir() else 0o640
            path.chmod(mode if self._group is not None else mode & 0o700)
        if self._watch:
            self._fingerprint = fingerprint(self.root)

    def check(self, started_generation: int) -> str | None:
        """None when the copy is as staged and was not staged afresh since an evaluation started at
        ``started_generation``; else why that evaluation fails (the copy is then made afresh)."""
        if not self._watch:
            return None
        try:
            intact = fingerprint(self.root) == self._fingerprint
        except OSError:  # a directory made unreadable, say
            intact = False
        if not intact:
            self.restage()
            return TAMPERED
        return TAMPERED if started_generation != self.generation else None

    def restage(self) -> None:
        """Make the copy afresh at the same path (the slots' launchers know it)."""
        release_scratch(self.root)  # removes even what a candidate made unremovable
        try:
            self.root.mkdir(mode=0o700)
            self._copy()
        except OSError as error:
            raise EvaluatorError(f"cannot stage {self._source} afresh in {self.root}: {error}") from None
        self.generation += 1

    def remove(self) -> None:
        release_scratch(self.root)
