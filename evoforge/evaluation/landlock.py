"""Layer L1': Landlock, the Linux security module any unprivileged process can use to confine itself.

The evaluation child calls ``restrict`` on itself after its limits and before any user code runs: from
then on it and everything it starts may write only beneath the directories it was given (its scratch
directory, /dev/shm) and to the files it was given (/dev/null); reading and executing stay allowed
everywhere. Nothing it does can change the staged evaluator, the task folder, the run directory or
another run's files. From ABI 6 (Linux 6.12) it may also send signals only to processes in its own
domain (its own processes) and reach no abstract Unix socket outside it, so even a candidate running
as root cannot kill the launcher, the controller or any other process.

Standard library only: the evaluation child loads this file by path; the controller imports it to
probe the ABI. Syscall numbers are the same on every architecture (444-446).
"""

import ctypes
import functools
import os

CREATE_RULESET = 444
ADD_RULE = 445
RESTRICT_SELF = 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

WRITE_FILE = 1 << 1
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6
SCOPE_ABI = 6

WRITES_V1 = (
    WRITE_FILE
    | REMOVE_DIR
    | REMOVE_FILE
    | MAKE_CHAR
    | MAKE_DIR
    | MAKE_REG
    | MAKE_SOCK
    | MAKE_FIFO
    | MAKE_BLOCK
    | MAKE_SYM
)
FILE_WRITES = WRITE_FILE | TRUNCATE  # the rights a rule on a file (not a directory) may carry


class RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.cache
def _libc():
    """The C library, loaded once (by the launcher, before it forks the evaluations)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi():
    """The kernel's Landlock ABI version, or an OSError saying why there is none."""
    libc = _libc()
    version = libc.syscall(ctypes.c_long(CREATE_RULESET), None, ctypes.c_size_t(0), CREATE_RULESET_VERSION)
    if version < 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return version


def handled_writes(version):
    """The write rights this ABI knows: all of them are handled (denied unless a rule allows them)."""
    rights = WRITES_V1
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    return rights


def restrict(rules):
    """Confine this process and its future children: ``rules`` is ``{"abi", "directories", "files"}``;
    paths that do not exist are left out. Raises OSError if the kernel refuses."""
    libc = _libc()
    version = int(rules["abi"])
    handled = handled_writes(version)
    scoped = (SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET) if version >= SCOPE_ABI else 0
    attr = RulesetAttr(handled, 0, scoped)
    size = ctypes.c_size_t(ctypes.sizeof(attr))
    ruleset = _check(libc.syscall(ctypes.c_long(CREATE_RULESET), ctypes.byref(attr), size, 0))
    try:
        for path in rules["directories"]:
            _allow(libc, ruleset, path, handled)
        for path in rules["files"]:
            _allow(libc, ruleset, path, handled & FILE_WRITES)
        _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        _check(libc.syscall(ctypes.c_long(RESTRICT_SELF), ruleset, 0))
    finally:
        os.close(ruleset)


def _allow(libc, ruleset, path, access):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        rule = PathBeneathAttr(access, fd)
        _check(libc.syscall(ctypes.c_long(ADD_RULE), ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0))
    finally:
        os.close(fd)


def _check(result):
    if result < 0:
        number = ctypes.get_errno()
        raise OSError(number, f"landlock: {os.strerror(number)}")
    return result
