"""Removing what evaluations leave behind: the slot's scratch directory, what the slot's uid left in
the machine's shared temporary directories (``/tmp``, ``/dev/shm``) and its System V shared memory.

Used on both sides of the fork (the launcher after every evaluation, the controller when it retires a
slot), and the candidate built everything it walks, so the walk survives anything a candidate can
build: trees thousands of levels deep (no recursion, and one directory open at a time: it goes back up
through ``..`` and checks that it arrived where it came from), symbolic links (never followed: every
directory is opened with ``O_NOFOLLOW`` relative to its parent's descriptor), directories without
permissions (opened up to 0700 when they cannot be read) and names that cannot be removed (skipped and
reported). Nothing here raises: each function answers whether everything went.

Standard library only: the launcher loads this file by path, the controller imports it.
"""

import contextlib
import errno
import functools
import os
import signal
import stat
import time

OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NOT_EMPTY = (errno.ENOTEMPTY, errno.EEXIST)  # POSIX allows either for rmdir of a non-empty directory
IPC_RMID = 0
# System V objects that hold memory after their creator has gone: (table, its remover); in both
# tables the id is the second column and the owner's uid the eighth.
IPC_TABLES = (("/proc/sysvipc/shm", "shmctl"), ("/proc/sysvipc/msg", "msgctl"))


def empty_directory(directory):
    """Remove everything inside ``directory`` (a path); True when it is empty afterwards."""
    try:
        top = _open_directory(directory, None)
    except OSError:
        return False
    try:
        return _empty(top)
    except Exception:  # MemoryError, say: a failed cleanup retires the slot, nothing more
        return False
    finally:
        os.close(top)


def remove_owned(directory, uid, keep=()):
    """Remove the entries of ``directory`` (``/tmp``, say) that ``uid`` owns, but not the directories
    ``keep`` names or holds; True when none is left. A missing ``directory`` has nothing to remove."""
    try:
        parent = os.open(directory, OPEN_DIRECTORY)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        spared = identities_on_the_way(keep)
        removed = True
        with os.scandir(parent) as entries:
            for entry in entries:
                try:
                    found = entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # gone meanwhile
                if found.st_uid == uid and (found.st_dev, found.st_ino) not in spared:
                    removed &= _remove_entry(parent, entry.name, stat.S_ISDIR(found.st_mode), uid)
        return removed
    except Exception:  # see empty_directory
        return False
    finally:
        os.close(parent)


def kill_until_gone(find_pids, within_s, pause_s):
    """SIGKILL what ``find_pids()`` returns, again and again, until it returns nothing or ``within_s``
    has passed: a process can fork between one look and the next."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        pids = find_pids()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(pause_s)


def remove_ipc_objects(uid):
    """Remove the System V shared memory segments and message queues ``uid`` owns (Linux; in the
    caller's IPC namespace): like files in ``/dev/shm``, they keep their memory, charged to the slot's
    cgroup, after every process of the evaluation has gone. True when none is left."""
    removed = True
    for table, remover in IPC_TABLES:
        try:
            with open(table) as rows:
                owned = [int(row.split()[1]) for row in list(rows)[1:] if int(row.split()[7]) == uid]
        except (OSError, ValueError, IndexError):
            continue  # no System V IPC here
        for number in owned:
            removed &= _libc()[remover](number, IPC_RMID, None) == 0
    return removed


@functools.cache
def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def identities_on_the_way(paths):
    """(device, inode) of every directory on the way to each of ``paths``, themselves included."""
    found = set()
    for path in paths:
        path = os.path.abspath(path)
        while True:
            with contextlib.suppress(OSError):
                status = os.lstat(path)
                found.add((status.st_dev, status.st_ino))
            if path == os.path.dirname(path):
                break
            path = os.path.dirname(path)
    return found


def _remove_entry(parent, name, is_directory, uid):
    """Remove ``name`` in the directory ``parent``, a whole tree if it is one (checked to be ``uid``'s)."""
    if not is_directory:
        return _unlink(parent, name)
    try:
        tree = _open_directory(name, parent)
    except OSError:
        return False
    try:
        if os.fstat(tree).st_uid != uid or not _empty(tree):
            return False
    finally:
        os.close(tree)
    try:
        os.rmdir(name, dir_fd=parent)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def _identity(fd):
    status = os.fstat(fd)
    return status.st_dev, status.st_ino


def _empty(top):
    """Empty the open directory ``top``: depth first, holding one directory open besides ``top``.

    A directory is removed by its parent (``rmdir`` works once it is empty), so going back up needs
    no name: the parent's next scan meets it empty. Directories that cannot be emptied are remembered
    and skipped, so the walk ends whatever it meets.
    """
    above = []  # identities of the directories between top and the current one
    stuck = set()  # identities of directories given up on
    current, left = top, None
    try:
        while True:
            name, identity, remains = _clear(current, stuck, left)
            if name is not None:
                try:
                    below = _open_directory(name, current)
                except OSError:
                    stuck.add(identity)
                    continue
                if _identity(below) != identity:  # replaced since the scan: not the directory met
                    os.close(below)
                    stuck.add(identity)
                    continue
                above.append(_identity(current))
                if current != top:
                    os.close(current)
                current, left = below, None
                continue
            if current == top:
                return not remains
            parent = os.open("..", OPEN_DIRECTORY, dir_fd=current)
            left = _identity(current)
            if remains:
                stuck.add(left)
            os.close(current)
            current = parent
            if _identity(parent) != above.pop():  # moved while being walked: stop rather than wander
                return False
            if not above:
                os.close(parent)
                current = top
    finally:
        if current != top:
            os.close(current)


def _clear(directory, stuck, left):
    """Remove the files and empty subdirectories of ``directory``; (name, identity) of the first
    subdirectory to enter (else None, None), and whether anything stays that cannot be removed.

    ``left`` is the subdirectory just emptied: if it still cannot be removed, it is given up on.
    """
    remains = False
    with os.scandir(directory) as entries:
        for entry in entries:
            try:
                is_directory = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_directory = False
            if not is_directory:
                remains |= not _unlink(directory, entry.name)
                continue
            try:
                os.rmdir(entry.name, dir_fd=directory)
                continue
            except FileNotFoundError:
                continue
            except OSError as error:
                if error.errno not in NOT_EMPTY:
                    remains = True
                    continue
            try:
                found = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            identity = (found.st_dev, found.st_ino)
            if identity in stuck or identity == left:
                stuck.add(identity)
                remains = True
                continue
            return entry.name, identity, remains
    return None, None, remains


def _unlink(directory, name):
    try:
        os.unlink(name, dir_fd=directory)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def _open_directory(name, parent):
    """Open the directory ``name`` (relative to ``parent``, a descriptor, or absolute when None)
    without following a link, made readable and writable for its owner if it was not."""
    try:
        fd = os.open(name, OPEN_DIRECTORY, dir_fd=parent)
    except PermissionError:
        _open_up(name, parent)
        fd = os.open(name, OPEN_DIRECTORY, dir_fd=parent)
    with contextlib.suppress(OSError):
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o700 != 0o700:
            os.fchmod(fd, 0o700)  # its entries can only be removed through a writable directory
    return fd


def _open_up(name, parent):
    """chmod 0700 the directory ``name`` that cannot be opened, never through a link."""
    with contextlib.suppress(OSError, ValueError, NotImplementedError):
        os.chmod(name, 0o700, dir_fd=parent, follow_symlinks=False)
        return
    if not hasattr(os, "O_PATH"):
        return
    with contextlib.suppress(OSError):  # older C libraries: change it through a descriptor of it
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                os.chmod(f"/proc/self/fd/{fd}", 0o700)
        finally:
            os.close(fd)
