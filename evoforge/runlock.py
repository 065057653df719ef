"""One controller per run directory: an advisory lock that also tells readers a run is live."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from evoforge.errors import StoreError
from evoforge.runfiles import LOCK_FILENAME
from evoforge.storage.sqlite_open import read_only


class RunLock:
    """Held by the controller for the whole run; released by the OS if the process dies."""

    def __init__(self, run_dir: Path) -> None:
        self._path = run_dir / LOCK_FILENAME
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        if not os.access(self._path.parent, os.W_OK):  # a read-only mount or permissions
            raise StoreError(f"{self._path.parent}: {read_only('run directory')}")
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise StoreError(f"{self._path}: cannot open the run's lock: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"{self._path.parent}: another evoforge process is running this run") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def is_running(run_dir: Path) -> bool:
    """True when a live controller holds the run's lock."""
    path = run_dir / LOCK_FILENAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
