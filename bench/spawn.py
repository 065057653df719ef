"""What starting a sandboxed child costs the controller: the spawn itself and the move into a cgroup.

Two measurements behind the sandbox's design: CPython spawns with vfork unless Popen must change
the uid (`user=`), and then forks the whole controller, which costs in proportion to its memory;
moving a process into a cgroup waits for the kernel. Needs root for `user=` and the cgroups.

    python bench/spawn.py [--rss-mb 800] [--record]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

from results import record

from evoforge.evaluation.cgroups import probe_cgroups

SPAWNS = 20


def spawn_ms(argv: list[str], **popen: object) -> float:
    """Median wall time of Popen itself (until the child has exec'd)."""
    times = []
    for _ in range(SPAWNS):
        started = time.perf_counter()
        child = subprocess.Popen(argv, **popen)  # type: ignore[call-overload]
        times.append(time.perf_counter() - started)
        child.wait()
    return statistics.median(times) * 1000


def join_ms(directory: os.PathLike[str], fresh: bool) -> float:
    """Median wall time of writing a process's pid into ``directory``/cgroup.procs.

    ``fresh``: the process was just spawned (as the sandbox's shim is); else it has been idle 50 ms.
    """
    probe = os.path.join(directory, f"evoforge-bench-{os.getpid()}")
    os.mkdir(probe)
    times = []
    try:
        for _ in range(SPAWNS):
            child = subprocess.Popen(["sleep", "5"])
            if not fresh:
                time.sleep(0.05)
            started = time.perf_counter()
            with open(os.path.join(probe, "cgroup.procs"), "w") as procs:
                procs.write(str(child.pid))
            times.append(time.perf_counter() - started)
            child.kill()
            child.wait()
    finally:
        time.sleep(0.1)
        os.rmdir(probe)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rss-mb", type=int, default=800, help="Memory the 'controller' holds while spawning."
    )
    parser.add_argument("--record", action="store_true", help="Append the table to bench/RESULTS.md.")
    args = parser.parse_args()
    ballast = bytearray(args.rss_mb * 1024 * 1024)  # touched: resident, as a long run's controller is
    true = ["/bin/true"]
    rows = [(f"Popen, controller at {args.rss_mb} MB (vfork)", spawn_ms(true, start_new_session=True))]
    if os.geteuid() == 0:
        identity = {"user": 65534, "group": 65534, "extra_groups": []}
        rows.append((f"Popen with user= (fork), controller at {args.rss_mb} MB", spawn_ms(true, **identity)))
        setpriv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", *true]
        rows.append(("Popen of setpriv dropping to a uid (vfork)", spawn_ms(setpriv, start_new_session=True)))
    roots, _ = probe_cgroups()
    if roots is not None:
        for name, root in (("v2", roots.unified), ("v1 memory", roots.memory_v1), ("v1 pids", roots.pids_v1)):
            if root is not None:
                rows.append((f"move a just-spawned process into a {name} cgroup", join_ms(root, fresh=True)))
                rows.append((f"move an idle process into a {name} cgroup", join_ms(root, fresh=False)))
    del ballast
    table = "| step | median ms |\n| --- | --- |\n" + "\n".join(f"| {name} | {ms:.2f} |" for name, ms in rows)
    print(table)
    if args.record:
        record(f"spawn.py, {SPAWNS} spawns per row", table)


if __name__ == "__main__":
    main()
