"""The warm launcher of one evaluation slot: started once under the slot's layers, it forks a clean
process for every evaluation.

Starting an interpreter costs 25-45 ms here (more under bubblewrap and cgroups); forking one that
has started already costs about a millisecond. The launcher is started the way an evaluation child
would be (the slot's uid, bubblewrap, cgroups, the allow-listed environment) and runs no user code;
it imports what ``preload`` names (by default the evaluator's imports: they took circle_packing_26's
evaluations from 90 to 26 ms, bench/launch.py), so that every evaluation starts with them. It reads
its configuration as JSON on stdin, says ``{"ready": true, "address_space_mb": size}`` on a Unix
socket once it can serve (the size is what every evaluation it forks starts with: the controller
checks the memory limit against it), then serves the controller there, one newline-terminated JSON
message at a time:

- ``{"run": name, "call": "evaluate"}`` (or ``"fingerprint"``, cascade.py) with four descriptors
  (stdout, stderr and result pipes, the program file): copy the program to ``scratch/name`` (with
  ``"files": true`` the file is ``{path: text}`` JSON, the program and the files to write beside it;
  ``"env"`` adds variables to the evaluation's environment), fork ``sandboxed_evaluation.run`` and
  supervise it: kill its process group at the deadline or when asked (``{"kill": true}``), then every
  descendant left (the launcher is a subreaper), empty the scratch directory, remove what its uid left
  in the ``sweep`` directories (``/dev/shm``, and ``/tmp`` where Landlock does not keep candidates
  out; only when the slot has a uid or a mount namespace of its own) and in System V IPC, and answer
  ``{"exit": code, "timed_out", "clean"}`` (``clean``: all of that went; ``cleanup.py``);
- end of file on the socket (the controller is gone or done): kill everything and leave.

It makes itself non-dumpable, so a candidate running under the same uid can neither ptrace it nor
read its memory; a candidate can still kill or stop it, which fails that evaluation and makes the
controller start a fresh launcher for the next one.

Standard library only, and never imported by the controller.
"""

import contextlib
import importlib
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PR_SET_DUMPABLE = 4
MAX_MESSAGE = 65536
DESCRIPTORS = 4  # stdout, stderr, result, program


def load_sibling(name):
    """``name``.py of this directory under a private name, so that a candidate's own module of that
    name is not shadowed."""
    spec = importlib.util.spec_from_file_location(f"_evoforge{name}", os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Channel:
    """Newline-terminated JSON messages on the control socket, with the descriptors sent along."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""
        self.fds = []

    def receive(self):
        """The next message (blocking), or None at end of file."""
        while b"\n" not in self.buffer:
            data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, DESCRIPTORS)
            self.fds.extend(fds)
            if not data:
                return None
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def take_fds(self):
        fds, self.fds = self.fds, []
        return fds

    def send(self, message):
        self.sock.sendall(json.dumps(message).encode() + b"\n")


def kill_group(pid):
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(OSError):
            kill(pid, signal.SIGKILL)


def drain(fd):
    with contextlib.suppress(OSError):
        while os.read(fd, 4096):
            pass


def watch(pid, channel, wake, timeout_s):
    """Wait for the child; kill it at the deadline, when asked, or when the controller goes away.

    Returns (wait status, timed out, controller gone).
    """
    deadline = time.monotonic() + timeout_s
    timed_out = gone = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, timed_out, gone
        remaining = deadline - time.monotonic()
        if remaining <= 0 and not timed_out:
            timed_out = True
            kill_group(pid)
            continue
        sources = [wake] if gone else [wake, channel.sock]
        readable, _, _ = select.select(sources, [], [], remaining if remaining > 0 else 1.0)
        if wake in readable:
            drain(wake)
        if channel.sock in readable:
            message = channel.receive()
            if message is None:
                gone = True
            if message is None or message.get("kill"):
                kill_group(pid)


def clean_up(config, cleanup):
    """Empty the scratch directory and remove what this uid left in the shared temporary directories
    and System V IPC (when ``sweep`` names them: the uid is the slot's own); True when all of that went
    (else the controller replaces this launcher)."""
    keep = (config["scratch"], config["evaluator"])
    emptied = cleanup.empty_directory(config["scratch"])
    swept = [cleanup.remove_owned(directory, os.getuid(), keep) for directory in config["sweep"]]
    if config["sweep"]:
        swept.append(cleanup.remove_ipc_objects(os.getuid()))
    return emptied and all(swept)


def address_space_mb():
    """This process's address space in MiB (Linux), which every fork starts with; else None."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    return None


def write_files(scratch, files):
    """Write ``{relative path: text}`` under ``scratch`` (a multi-file program, search mode's solution);
    a path that would leave it is skipped (the controller never sends one)."""
    root = os.path.realpath(scratch)
    for name, text in files.items():
        target = os.path.realpath(os.path.join(root, name))
        if not target.startswith(root + os.sep):
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as file:
            file.write(text)


def serve(config, channel, child, contract, cleanup):
    wake, wake_in = os.pipe()
    os.set_blocking(wake, False)
    os.set_blocking(wake_in, False)
    signal.set_wakeup_fd(wake_in)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that SIGCHLD writes to the wake pipe
    scratch = config["scratch"]
    while True:
        message = channel.receive()
        if message is None:
            return
        fds = channel.take_fds()
        if "run" not in message or len(fds) != DESCRIPTORS:
            for fd in fds:
                os.close(fd)
            continue  # a late kill, for an evaluation that has ended already
        *pipes, program = fds
        path = os.path.join(scratch, message["run"])
        with open(program, "rb") as source:
            if message.get("files"):
                write_files(scratch, json.load(source))
            else:
                with open(path, "wb") as target:
                    shutil.copyfileobj(source, target)
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.environ.update(message.get("env") or {})
            child.run(config, contract, path, pipes, message.get("call", "evaluate"))
        for fd in pipes:
            os.close(fd)
        status, timed_out, gone = watch(pid, channel, wake, config["timeout_s"])
        child.kill_descendants()
        if gone:
            return
        clean = clean_up(config, cleanup)
        channel.send({"exit": os.waitstatus_to_exitcode(status), "timed_out": timed_out, "clean": clean})


def main():
    if sys.path and sys.path[0] == HERE:
        del sys.path[0]  # keep evoforge's own modules from shadowing the evaluator's imports
    config = json.loads(sys.stdin.buffer.read())
    child = load_sibling("sandboxed_evaluation")
    cleanup = load_sibling("cleanup")
    if sys.platform.startswith("linux"):
        child.prctl(PR_SET_DUMPABLE, 0)
        child.prctl(child.PR_SET_CHILD_SUBREAPER, 1)
        child.prctl(child.PR_SET_PDEATHSIG, signal.SIGKILL)
    child.use_site_dirs(config["site_dirs"])
    if config.get("landlock"):
        child.landlock_module()  # once here, not in every evaluation
    contract = child.load_module(config["contract"], "_evoforge_contract")
    if config.get("evaluator_kind") != "shinka":  # stand-ins the evaluator imports, before preloading them
        child.compat_module().use_shims_for_evaluator(config["evaluator"])
    failed = {}
    for name in config["preload"]:
        try:
            importlib.import_module(name)
        except BaseException as error:  # an evaluation that needs it reports the error itself
            failed[name] = f"{type(error).__name__}: {error}"[:200]
    os.chdir(config["scratch"])
    channel = Channel(socket.socket(fileno=config["control_fd"]))
    try:
        channel.send({"ready": True, "address_space_mb": address_space_mb(), "preload_failed": failed})
        serve(config, channel, child, contract, cleanup)
    finally:
        child.kill_descendants()
        os._exit(0)


if __name__ == "__main__":
    main()
