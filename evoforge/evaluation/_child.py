"""The sandbox trampoline: a fresh interpreter that limits itself, then runs the user's evaluator.

Run as a script (never imported by the controller), standard library only, so that it starts fast
and carries nothing of the controller. It reads one JSON request on stdin, sets its own resource
limits before any user code runs (preexec_fn could deadlock a threaded parent), imports the
evaluator by path, calls ``evaluate(program_path)``, and writes one JSON answer to the result pipe
the parent passed (never stdout, which the candidate may fill with anything).

Known limit of this first layer: the candidate runs in this same process and could write a forged
answer to the result pipe; the parent re-validates the metrics but cannot tell who wrote them.
"""

import contextlib
import importlib.util
import json
import os
import resource
import sys
import traceback

MIB = 1024 * 1024


def set_limits(limits):
    """CPU seconds, address space, file size, open files and no core dumps."""
    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if sys.platform.startswith("linux"):  # macOS cannot limit the address space
        memory = int(limits["memory_mb"]) * MIB
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = int(limits["file_mb"]) * MIB
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(limits["nofile"]), int(limits["nofile"])))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(request, contract):
    """Evaluate and return the JSON-able answer."""
    evaluator_path = request["evaluator"]
    sys.path.insert(0, os.path.dirname(evaluator_path))
    try:
        evaluator = load_module(evaluator_path, "evaluator")
    except BaseException as error:
        return failure(f"the evaluator failed to import: {type(error).__name__}: {error}")
    evaluate = getattr(evaluator, "evaluate", None)
    if not callable(evaluate):
        return failure("the evaluator defines no evaluate(program_path) function")
    try:
        raw = evaluate(request["program"])
    except BaseException as error:
        return failure(f"evaluator raised {type(error).__name__}: {error}")
    try:
        metrics, artifacts, flags = contract.normalize_result(raw)
    except contract.ContractError as error:
        return {"ok": False, "error": f"invalid result: {error}"}
    return {"ok": True, "metrics": metrics, "artifacts": artifacts, "flags": sorted(flags)}


def failure(message):
    """A failure answer carrying the last lines of the traceback as an artifact."""
    trace = traceback.format_exc(limit=-8)
    return {"ok": False, "error": message[:2000], "artifacts": {"traceback": trace[-4000:]}}


def main():
    request = json.loads(sys.stdin.read())
    result_fd = request["result_fd"]
    os.set_inheritable(result_fd, False)
    set_limits(request["limits"])
    contract = load_module(request["contract"], "_evoforge_contract")
    try:
        answer = run(request, contract)
        text = json.dumps(answer)
    except BaseException as error:  # e.g. MemoryError while serialising
        text = json.dumps({"ok": False, "error": f"cannot report the result: {type(error).__name__}"})
    with os.fdopen(result_fd, "w") as result:
        result.write(text)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # a candidate may have closed or replaced them
            stream.flush()
    os._exit(0)  # skip atexit handlers and finalizers the candidate may have registered


if __name__ == "__main__":
    main()
