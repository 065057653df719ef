"""One evaluation, in the process the warm launcher (``sandboxed_launcher.py``) forked for it.

Standard library only and never imported by the controller. The launcher forks this process from an
interpreter that has run no user code; here it

1. becomes its own session, takes its stdout, stderr and result pipe from the controller, closes
   every other descriptor, and volunteers to the OOM killer first;
2. sets its resource limits (and, where bubblewrap is off, the seccomp filter; where the kernel has
   Landlock, the confinement of its writes and signals) before any user code runs; rlimits counted
   per process (CPU time) start from zero in a fresh fork;
3. imports the evaluator by path, calls ``evaluate(program_path)``, validates what it returned
   with ``contract.py`` (also loaded by path: the evoforge package is never imported here) and cuts
   it to the record limits, so that 200,000 metrics or a huge artifact never cross the pipe;
4. writes one JSON answer, ``{"ok": true, "metrics", "artifacts"}`` or ``{"ok": false, "error",
   "artifacts"}``, to the result pipe (never to stdout, which the candidate may fill with anything)
   and leaves with ``os._exit`` (no atexit handler of the candidate runs).

Known limit: the candidate runs in this very process, so it could write a forged answer to the result
pipe or close it. The parent re-validates the metrics, but it cannot tell who wrote them; verifiers
that matter run the candidate in an interpreter of its own (``evoforge.verify``).
"""

import contextlib
import functools
import importlib.util
import json
import os
import resource
import sys
import types

MIB = 1024 * 1024
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
REAP_ROUNDS = 200
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


@functools.cache
def libc():
    """The C library through ctypes, loaded once by the launcher, so that its forks inherit it."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def prctl(option, value):
    return libc().prctl(option, value, 0, 0, 0)


def offer_to_oom_killer():
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
        adj.write("1000")


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


def confine_writes(rules):
    """Layer L1': Landlock: from here on this process and its children write only where ``rules``
    allow and signal only each other."""
    landlock_module().restrict(rules)


@functools.cache
def landlock_module():
    """``landlock.py``, loaded by path beside this file; the launcher loads it (and its C library)
    once, before it forks: loading it in every evaluation cost 6 ms."""
    here = os.path.dirname(os.path.abspath(__file__))
    module = load_module(os.path.join(here, "landlock.py"), "_evoforge_landlock")
    module.abi()  # loads the C library
    return module


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
    """Run the evaluator on the program; the JSON-able answer for the parent, bounded as the record
    will be (``contract.bound_record``), so that a huge result never crosses the pipe."""
    answer = run_evaluator(request, contract)
    if "error" in answer:
        answer["error"] = answer["error"][: contract.MAX_ERROR_CHARS]
    return answer


def run_evaluator(request, contract):
    path = request["evaluator"]
    sys.path.insert(0, os.path.dirname(path))  # the evaluator's sibling modules import as usual
    if request.get("evaluator_kind") == "shinka":
        return run_shinka_script(request, contract)
    foreign = compat_module().use_shims_for_evaluator(path)
    try:
        evaluator = load_module(path, os.path.splitext(os.path.basename(path))[0])
    except BaseException as error:
        return failure(f"the evaluator failed to import: {contract.describe(error)}", error)
    if "openevolve" in foreign:
        compat_module().adapt_openevolve_evaluator(evaluator)
    if request.get("call") == "fingerprint":
        return cascade_module().run_fingerprint(evaluator, request, contract, failure)
    if request.get("cascade") is not None and callable(getattr(evaluator, "evaluate_stage1", None)):
        return cascade_module().run_cascade(evaluator, request, contract, failure)
    function = getattr(evaluator, "evaluate", None)
    if not callable(function):
        return failure(f"the evaluator {path} defines no evaluate(program_path) function")
    try:
        raw = function(request["program"])
    except BaseException as error:  # SystemExit and KeyboardInterrupt from the candidate too
        return failure(f"evaluator raised {contract.describe(error)}", error)
    try:
        metrics, artifacts = contract.normalize_result(raw)
        metrics, artifacts = contract.bound_record(
            metrics, artifacts, request["records"], request["score_metric"]
        )
        solution = contract.solution_text(raw)
    except contract.ContractError as error:  # with a cause when the evaluator's own code raised
        return failure(f"invalid result: {error}", error if error.__cause__ is not None else None)
    except BaseException as error:  # what the contract leaves to the caller: SystemExit, say
        return failure(f"invalid result: reading it raised {contract.describe(error)}", error)
    answer = {"ok": True, "metrics": metrics, "artifacts": artifacts}
    if solution is not None:
        answer["solution"] = solution
    return answer


def run_shinka_script(request, contract):
    """A ShinkaEvolve ``evaluate.py``: run as a script, its metrics.json and correct.json read back."""
    shinka = compat_module()
    results = os.path.join(os.path.dirname(request["program"]), "shinka_results")
    try:
        metrics, artifacts = shinka.run_script(request["evaluator"], request["program"], results)
    except shinka.ShinkaResultError as error:
        return failure(str(error))
    except BaseException as error:  # the script itself raised outside its own error handling
        return failure(f"evaluate.py raised {contract.describe(error)}", error)
    try:
        metrics, artifacts = contract.normalize_result(
            types.SimpleNamespace(metrics=metrics, artifacts=artifacts)
        )
        metrics, artifacts = contract.bound_record(
            metrics, artifacts, request["records"], request["score_metric"]
        )
    except contract.ContractError as error:
        return failure(f"invalid result: {error}")
    return {"ok": True, "metrics": metrics, "artifacts": artifacts}


@functools.cache
def compat_module():
    """``compat/child_side.py`` (ShinkaEvolve's scripts, the stand-in packages), loaded by path."""
    here = os.path.dirname(os.path.abspath(__file__))
    return load_module(os.path.join(here, "..", "compat", "child_side.py"), "_evoforge_compat")


@functools.cache
def cascade_module():
    """``cascade.py`` (stages, fingerprint), loaded by path beside this file, once per launcher."""
    here = os.path.dirname(os.path.abspath(__file__))
    return load_module(os.path.join(here, "cascade.py"), "_evoforge_cascade")


def failure(line, error=None):
    """A failure answer: the error line and, when an exception caused it, the end of its traceback
    (its causes included) as an artifact."""
    if error is None:
        return {"ok": False, "error": line}
    import traceback  # only failures pay for it

    trace = "".join(traceback.format_exception(error, limit=-8))[-MAX_TRACEBACK_CHARS:]
    return {"ok": False, "error": line, "artifacts": {"traceback": trace}}


def encode(answer):
    """The answer as bytes; an answer that cannot be encoded becomes a failure that can."""
    try:
        return json.dumps(answer).encode()
    except BaseException as error:  # e.g. MemoryError on huge artifacts
        message = f"cannot report the result: {type(error).__name__}"
        return json.dumps({"ok": False, "error": message}).encode()


def take_descriptors(stdout, stderr, result):
    """Keep only stdin (/dev/null), stdout, stderr and the result pipe; returns the result's fd."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    result_fd = os.dup2(result, 3)
    os.closerange(4, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 65536)
    os.set_inheritable(result_fd, False)  # not passed on to the candidate's subprocesses
    return result_fd


def reseed():
    """A fresh seed for numpy's global generator: a fork shares the launcher's, a new interpreter would
    not. (``random`` reseeds itself in a forked child.)"""
    if "numpy.random" in sys.modules:
        with contextlib.suppress(BaseException):
            sys.modules["numpy.random"].seed()


def run(config, contract, program, fds, call="evaluate"):
    """The forked evaluation; never returns. ``fds`` are the stdout, stderr and result pipes; ``call``
    is ``evaluate`` or ``fingerprint`` (cascade.py)."""
    code = 1  # a failure before the answer is written (e.g. no seccomp filter) shows as exit code 1
    try:
        os.setsid()  # its own process group: the launcher kills it as a whole
        result_fd = take_descriptors(*fds)
        if sys.platform.startswith("linux"):
            import signal

            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            offer_to_oom_killer()
        if config.get("seccomp"):
            deny_network(config["seccomp"])
        if config.get("landlock"):
            confine_writes(config["landlock"])
        set_limits(config["limits"])
        reseed()
        request = {
            key: config.get(key)
            for key in ("evaluator", "records", "score_metric", "cascade", "evaluator_kind")
        }
        data = encode(evaluate(request | {"program": program, "call": call}, contract))
        with open(result_fd, "wb", closefd=True) as result:
            result.write(data)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):  # a candidate may have closed or replaced them
                stream.flush()
        code = 0
    finally:
        os._exit(code)
