"""The sandbox trampoline: a fresh interpreter that limits itself, then runs the user's evaluator.

Run as a script by path (never imported by the controller), standard library only, so that it
starts fast and carries nothing of the controller. Protocol:

1. read one JSON request on stdin: ``evaluator``, ``program``, ``contract`` (absolute paths),
   ``limits`` (``cpu_s``, ``memory_mb``, ``file_mb``, ``nofile``) and ``result_fd``;
2. set this process's resource limits before any user code runs (``preexec_fn`` in the parent
   could deadlock a threaded controller);
3. import the evaluator by path, call ``evaluate(program_path)`` and validate what it returned
   with ``contract.py`` (also loaded by path: the evoforge package is never imported here);
4. write one JSON answer, ``{"ok": true, "metrics", "artifacts"}`` or ``{"ok": false, "error",
   "artifacts"}``, to the result pipe ``result_fd`` (never to stdout, which the candidate may fill
   with anything) and leave with ``os._exit`` (no atexit handler of the candidate runs).

On Linux the trampoline is also the supervisor of the candidate's processes (layer L1): a
subreaper, so that orphans (a daemon that called ``setsid``) become its children and are killed
before it leaves; killed with SIGKILL if the controller dies; first in line for the OOM killer.

Known limit of this first layer: the candidate runs in this very process, so it could write a
forged answer to the result pipe or close it. The parent re-validates the metrics, but it cannot
tell who wrote them; running the candidate out of the evaluator's process is a later layer.
"""

import contextlib
import importlib.util
import json
import os
import resource
import sys

MIB = 1024 * 1024
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
REAP_ROUNDS = 200
MAX_ERROR_CHARS = 2000
MAX_TRACEBACK_CHARS = 4000


def set_limits(limits):
    """CPU seconds (SIGXCPU, then SIGKILL a second later), address space, file size, open files, no core."""
    cpu = int(limits["cpu_s"])
    lower(resource.RLIMIT_CPU, cpu, cpu + 1)
    if sys.platform.startswith("linux"):  # macOS does not enforce RLIMIT_AS
        memory = int(limits["memory_mb"]) * MIB
        lower(resource.RLIMIT_AS, memory, memory)
    size = int(limits["file_mb"]) * MIB
    lower(resource.RLIMIT_FSIZE, size, size)
    files = int(limits["nofile"])
    lower(resource.RLIMIT_NOFILE, files, files)
    lower(resource.RLIMIT_CORE, 0, 0)
    if limits.get("nproc"):  # only meaningful when this slot has a uid of its own
        lower(resource.RLIMIT_NPROC, int(limits["nproc"]), int(limits["nproc"]))


def supervise(subreaper):
    """Be the OOM killer's first choice; with ``subreaper``, also adopt orphans and die with the controller.

    Under bubblewrap the pid namespace and --die-with-parent do the latter, and ctypes (~3 ms) is spared.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
        adj.write("1000")
    if subreaper:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_NE = 1
AF_UNIX = 1
EACCES = 13


def deny_network(library):
    """Layer L2': a seccomp filter refusing every socket but AF_UNIX, and io_uring (which can open them).

    For machines where namespaces are blocked (bubblewrap cannot run); libseccomp is loaded by the
    path the controller found, and sets no_new_privs so no setuid program can lift the filter.
    """
    import ctypes

    class Comparison(ctypes.Structure):
        _fields_ = [
            ("arg", ctypes.c_uint),
            ("op", ctypes.c_int),
            ("datum_a", ctypes.c_uint64),
            ("datum_b", ctypes.c_uint64),
        ]

    seccomp = ctypes.CDLL(library)
    seccomp.seccomp_init.restype = ctypes.c_void_p
    context = ctypes.c_void_p(seccomp.seccomp_init(ctypes.c_uint32(SCMP_ACT_ALLOW)))
    refuse = ctypes.c_uint32(0x00050000 | EACCES)  # SCMP_ACT_ERRNO(EACCES)
    not_unix = Comparison(0, SCMP_CMP_NE, AF_UNIX, 0)
    failures = [
        seccomp.seccomp_rule_add_array(
            context, refuse, seccomp.seccomp_syscall_resolve_name(b"socket"), 1, ctypes.byref(not_unix)
        ),
        seccomp.seccomp_rule_add_array(
            context, refuse, seccomp.seccomp_syscall_resolve_name(b"io_uring_setup"), 0, None
        ),
        seccomp.seccomp_load(context),
    ]
    seccomp.seccomp_release(context)
    if any(failures):
        raise OSError(f"seccomp filter not loaded ({failures})")


def children():
    """This process's children (orphans re-parented here included), from /proc."""
    found = set()
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as listing:
                found.update(int(pid) for pid in listing.read().split())
    return found


def kill_descendants():
    """Kill every child, then the orphans that re-parent here, until none is left (or rounds run out)."""
    if not sys.platform.startswith("linux"):
        return
    import signal

    for _ in range(REAP_ROUNDS):
        pids = children()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in pids:  # killed ones die at once; their own children re-parent here meanwhile
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)


def lower(kind, soft, hard):
    """Set a limit, never above the hard limit this process already has (raising it would fail)."""
    _, current = resource.getrlimit(kind)
    if current != resource.RLIM_INFINITY:
        hard = min(hard, current)
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))


def load_module(path, name):
    """Import a file as module ``name``, registered in sys.modules as a normal import would be.

    Registration matters: dataclasses, pickling and multiprocessing look the module up by name.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


class SitePackagesOnDemand:
    """Last on sys.meta_path: reads the site directories' .pth files when an import finds nothing.

    The interpreter runs without its site module (-S) for a fast start; packages installed plainly
    import straight from sys.path, and the first import that needs a .pth file (an editable
    install's finder) pays for reading them, once. Finders the .pth files add are appended after
    this one, so the import machinery asks them next, in the same lookup.
    """

    def __init__(self, directories):
        self.directories = directories
        self.done = False

    def find_spec(self, name, path=None, target=None):
        if not self.done:
            self.done = True
            import site

            for directory in self.directories:
                site.addsitedir(directory)
        return None


def use_site_dirs(directories):
    sys.path.extend(d for d in directories if d not in sys.path)
    sys.meta_path.append(SitePackagesOnDemand(directories))


def evaluate(request, contract):
    """Run the evaluator on the program; the JSON-able answer for the parent."""
    path = request["evaluator"]
    sys.path.insert(0, os.path.dirname(path))  # the evaluator's sibling modules import as usual
    try:
        evaluator = load_module(path, os.path.splitext(os.path.basename(path))[0])
    except BaseException as error:
        return failure("the evaluator failed to import:", error)
    function = getattr(evaluator, "evaluate", None)
    if not callable(function):
        return failure(f"the evaluator {path} defines no evaluate(program_path) function")
    try:
        raw = function(request["program"])
    except BaseException as error:  # SystemExit and KeyboardInterrupt from the candidate too
        return failure("evaluator raised", error)
    try:
        metrics, artifacts = contract.normalize_result(raw)
    except contract.ContractError as error:
        return {"ok": False, "error": f"invalid result: {error}"[:MAX_ERROR_CHARS]}
    return {"ok": True, "metrics": metrics, "artifacts": artifacts}


def failure(message, error=None):
    """A failure answer: what failed, the exception, and the end of its traceback as an artifact."""
    if error is None:
        return {"ok": False, "error": message[:MAX_ERROR_CHARS]}
    import traceback  # only failures pay for it

    try:
        detail = str(error)
    except BaseException:  # a hostile __str__
        detail = ""
    described = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    trace = traceback.format_exc(limit=-8)[-MAX_TRACEBACK_CHARS:]
    error_line = f"{message} {described}"[:MAX_ERROR_CHARS]
    return {"ok": False, "error": error_line, "artifacts": {"traceback": trace}}


def encode(answer):
    """The answer as bytes; an answer that cannot be encoded becomes a failure that can."""
    try:
        return json.dumps(answer).encode()
    except BaseException as error:  # e.g. MemoryError on huge artifacts
        message = f"cannot report the result: {type(error).__name__}"
        return json.dumps({"ok": False, "error": message}).encode()


def main():
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # keep evoforge's own modules from shadowing the evaluator's imports
    request = json.loads(sys.stdin.buffer.read())
    supervise(request["subreaper"])
    if request.get("seccomp"):
        deny_network(request["seccomp"])
    set_limits(request["limits"])
    use_site_dirs(request["site_dirs"])
    result_fd = request["result_fd"]
    os.set_inheritable(result_fd, False)  # not passed on to the candidate's subprocesses
    contract = load_module(request["contract"], "_evoforge_contract")
    data = encode(evaluate(request, contract))
    with open(result_fd, "wb", closefd=True) as result:
        result.write(data)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # a candidate may have closed or replaced them
            stream.flush()
    kill_descendants()
    os._exit(0)


if __name__ == "__main__":
    main()
