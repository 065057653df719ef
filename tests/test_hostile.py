"""Hostile candidates against the real sandbox, in every layer combination this machine offers.

Each case is a real program run through ``Sandbox`` exactly as a run does, from this test process
playing the controller, once per combination (``layer_plan``: process, process without Landlock,
separate uid, all layers, bubblewrap). After each case: the evaluation ended with a result (never an
exception here), this process and a bystander of its uid are alive, and nothing of the candidate
remains. A case that only some layer stops is skipped, saying so, where that layer is missing:
without it the case would hurt the machine (``kill(-1)`` as root ends every process). Cases that
signal everything first prove with a harmless probe that signals are contained. docs/security.md
lists the cases and the layer that stops each; tests/test_hostile_integrity.py holds the cases
against the evaluator, its result and the launcher.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from evoforge.evaluation.layers import SandboxPlan
from evoforge.testing.hostile import (
    DAEMON,
    MARKER,
    candidates_are_root,
    check_signals_contained,
    evaluate,
    failed,
    signals_scoped,
)

pytestmark = pytest.mark.usefixtures("untouched")
SECRET = f"evoforge-hostile-{uuid.uuid4().hex}"
CIRCLES = Path(__file__).parents[1] / "examples" / "circle_packing_26" / "evaluator.py"


@pytest.fixture(autouse=True)
def secret_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_API_KEY", SECRET)


def require(plan: SandboxPlan, *properties: str) -> None:
    """Skip unless one of ``properties`` is active: without it the case is not contained."""
    if not any(name in plan.properties for name in properties):
        pytest.skip(f"needs one of {properties} (see `evoforge doctor`)")


def test_candidates_run_as_a_leased_uid_with_only_the_stage_group(
    layer_plan: SandboxPlan, tmp_path: Path
) -> None:
    require(layer_plan, "separate_uid")
    code = (
        "import os\n\ndef result():\n"
        "    return {'uid': os.getuid(), 'gid': os.getgid(), 'groups': len(os.getgroups())}\n"
    )
    metrics = evaluate(layer_plan, tmp_path, code).metrics
    assert layer_plan.uid_base is not None and metrics["uid"] >= layer_plan.uid_base
    assert metrics["gid"] == metrics["uid"] and metrics["groups"] == 1.0  # the group of the staged folder


def test_memory_bomb(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = "def result():\n    blob = bytearray(20 * 1024**3)\n    return {'score': len(blob)}\n"
    assert failed(evaluate(layer_plan, tmp_path, code), "MemoryError")


def fork_children(mib: int) -> str:
    """A candidate whose 4 children each allocate ``mib`` MiB: exit 0 if it worked, 3 on MemoryError."""
    return (
        "import os\n\ndef result():\n    pids = []\n    for _ in range(4):\n        pid = os.fork()\n"
        "        if pid == 0:\n            try:\n"
        f"                blob = bytearray({mib} * 1024**2)\n"
        "            except MemoryError:\n                os._exit(3)\n            os._exit(0)\n"
        "        pids.append(pid)\n"
        "    codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]\n"
        "    return {'completed': codes.count(0), 'refused': codes.count(3)}\n"
    )


def test_memory_bomb_across_forked_children(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    assert evaluate(layer_plan, tmp_path, fork_children(2048)).metrics["refused"] == 4.0


def test_memory_of_forked_children_is_limited_as_a_whole(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    """Each child stays under the per-process limit; together they pass it: L3 stops them."""
    require(layer_plan, "memory_total")
    result = evaluate(layer_plan, tmp_path, fork_children(600))
    assert not result.ok or result.metrics["completed"] < 4, result.metrics


def test_infinite_loop(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = "def result():\n    while True:\n        pass\n"
    assert failed(evaluate(layer_plan, tmp_path, code, timeout_s=2), "timeout", "CPU time")


def test_sleep_forever(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = "import time\n\ndef result():\n    time.sleep(10**6)\n"
    assert failed(evaluate(layer_plan, tmp_path, code, timeout_s=1), "timeout")


def test_fork_bomb_is_bounded(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    require(layer_plan, "separate_uid")
    code = (
        "import os, sys, time\n\ndef result():\n    forks = 0\n    for _ in range(5000):\n        try:\n"
        "            pid = os.fork()\n        except OSError:\n            break\n        if pid == 0:\n"
        f"            os.execv('/bin/sleep', ['sleep', '60', {MARKER!r}])\n"
        "        forks += 1\n    return {'forks': forks}\n"
    )
    result = evaluate(layer_plan, tmp_path, code)
    assert result.ok and result.metrics["forks"] < 5000, result.error


def test_write_5_gb(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = (
        "def result():\n    with open('big.bin', 'wb') as out:\n        for _ in range(5 * 1024):\n"
        "            out.write(b'x' * 1024**2)\n    return {'score': 1}\n"
    )
    assert failed(evaluate(layer_plan, tmp_path, code), "File size", "SIGXFSZ", "No space", "OSError")


def test_many_files(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = (  # stops early on a slow disk: the case is what it leaves, not how fast it writes
        "import time\n\ndef result():\n    made, stop = 0, time.monotonic() + 4\n    try:\n"
        "        while made < 20000 and time.monotonic() < stop:\n"
        "            open(f'f{made}', 'w').close()\n            made += 1\n"
        "    except OSError:\n        pass\n"
        "    return {'made': made}\n"
    )
    result = evaluate(layer_plan, tmp_path, code)
    assert result.ok and result.metrics["made"] > 0
    assert not [p for p in Path("/tmp").glob("evoforge-*") if (p / "f0").exists()]


def test_print_1_gb(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = "import sys\n\ndef result():\n    for _ in range(1024):\n        sys.stdout.write('x' * 1024**2)\n"
    assert failed(evaluate(layer_plan, tmp_path, code), "output limit exceeded")


def test_setsid_daemon_does_not_survive(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    require(layer_plan, "tree_kill")
    code = DAEMON + "\ndef result():\n    daemonize()\n    return {'score': 1}\n"
    assert evaluate(layer_plan, tmp_path, code).ok  # the fixture asserts that no daemon survives


def test_setsid_daemon_does_not_survive_a_timeout(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    require(layer_plan, "pid_namespace")
    code = DAEMON + "\ndef result():\n    daemonize()\n    while True:\n        pass\n"
    assert failed(evaluate(layer_plan, tmp_path, code, timeout_s=2), "timeout", "CPU time")


def test_kill_parent(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    """The parent is the slot's launcher: killing it fails this evaluation only; under Landlock's
    signal scope the kill is refused."""
    code = (
        "import os, signal\n\ndef result():\n    os.kill(os.getppid(), signal.SIGKILL)\n    return {'x': 1}\n"
    )
    result = evaluate(layer_plan, tmp_path, code)
    assert failed(result, "PermissionError" if signals_scoped(layer_plan) else "launcher ended"), result.error


def test_kill_the_controller_by_pid(
    layer_plan: SandboxPlan, tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    require(layer_plan, "signals_confined")
    check_signals_contained(layer_plan, tmp_path, bystander)
    code = (
        "import os, signal\n\ndef result():\n    try:\n"
        f"        os.kill({os.getpid()}, signal.SIGKILL)\n    except OSError as error:\n"
        "        return {'errno': error.errno}\n    return {'errno': 0}\n"
    )
    result = evaluate(layer_plan, tmp_path, code)
    # In a pid namespace the number may name a process of the sandbox itself.
    allowed = {errno.EPERM, errno.ESRCH} | ({0} if "pid_namespace" in layer_plan.properties else set())
    assert result.ok and result.metrics["errno"] in allowed, result


def test_kill_every_process(
    layer_plan: SandboxPlan, tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    require(layer_plan, "signals_confined")
    check_signals_contained(layer_plan, tmp_path, bystander)
    code = "import os, signal\n\ndef result():\n    os.kill(-1, signal.SIGKILL)\n    return {'x': 1}\n"
    result = evaluate(layer_plan, tmp_path, code)
    if signals_scoped(
        layer_plan
    ):  # it reaches nobody (kill(-1) reports no refusal): the evaluation ends well
        assert result.ok and result.metrics == {"x": 1.0}, result.error
    else:  # kill(-1) spares only the caller: the slot's launcher goes, and this evaluation with it
        assert failed(result, "launcher ended"), result.error


def test_read_the_controller_environment(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    require(layer_plan, "separate_uid", "pid_namespace")
    code = (
        "import os\n\ndef result():\n    found = 0\n"
        "    for pid in ['self', str(os.getppid())] + os.listdir('/proc'):\n"
        "        try:\n            found += "
        f"{SECRET!r}.encode() in open(f'/proc/{{pid}}/environ', 'rb').read()\n"
        "        except OSError:\n            pass\n"
        f"    found += {SECRET!r} in str(os.environ)\n    return {{'found': found}}\n"
    )
    result = evaluate(layer_plan, tmp_path, code)
    assert result.ok and result.metrics == {"found": 0.0}


def test_read_the_run_database(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    require(layer_plan, "separate_uid", "private_filesystem")
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    database = run_dir / "evoforge.db"
    database.write_text(SECRET)
    database.chmod(0o600)
    code = (
        "def result():\n    try:\n"
        f"        return {{'read': float({SECRET!r} in open({str(database)!r}).read())}}\n"
        "    except OSError:\n        return {'read': 0.0}\n"
    )
    assert evaluate(layer_plan, tmp_path, code).metrics == {"read": 0.0}


def test_write_outside_scratch(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    require(layer_plan, "writes_confined")
    name = f"evoforge-hostile-{uuid.uuid4().hex}"
    targets = [
        Path.home() / name,
        Path("/tmp") / name,
        tmp_path / name,
        CIRCLES.parent / name,
        Path("/") / name,
    ]
    code = (
        "def result():\n    written = 0\n"
        f"    for path in {[str(t) for t in targets]!r}:\n        try:\n"
        "            open(path, 'w').write('x')\n            written += 1\n        except OSError:\n"
        "            pass\n    return {'written': written}\n"
    )
    result = evaluate(layer_plan, tmp_path, code)
    leaked = [t for t in targets if t.exists()]
    for path in leaked:
        path.unlink()
    assert not leaked and result.metrics == {"written": 0.0}


def test_tcp_connection_to_a_local_listener(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    require(layer_plan, "network_off")
    accepted: list[object] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        server.settimeout(0.2)

        def accept() -> None:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not accepted:
                try:
                    accepted.append(server.accept())
                except TimeoutError:
                    continue
                except OSError:
                    return

        listener = threading.Thread(target=accept, daemon=True)
        listener.start()
        code = (
            "import socket\n\ndef result():\n    try:\n"
            f"        socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
            "        return {'connected': 1}\n    except OSError:\n        return {'connected': 0}\n"
        )
        result = evaluate(layer_plan, tmp_path, code)
        accepted.append(None)  # stops the listener
        listener.join()
    assert result.metrics == {"connected": 0.0} and accepted == [None]


def test_os_exit(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = "import os\n\ndef result():\n    os._exit(0)\n"
    assert failed(evaluate(layer_plan, tmp_path, code), "before returning a result")


def test_segfault(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = "import ctypes\n\ndef result():\n    ctypes.string_at(0)\n"
    assert failed(evaluate(layer_plan, tmp_path, code), "SIGSEGV")


def test_exhaust_file_descriptors(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    code = (
        "def result():\n    kept = []\n    try:\n        while True:\n"
        "            kept.append(open('/dev/null'))\n"
        "    except OSError:\n        return {'opened': len(kept)}\n"
    )
    result = evaluate(layer_plan, tmp_path, code)
    assert result.ok and result.metrics["opened"] < 300


def test_raise_its_own_limits(layer_plan: SandboxPlan, tmp_path: Path) -> None:
    if candidates_are_root(layer_plan):
        pytest.skip("a candidate running as root may raise its hard limits (CAP_SYS_RESOURCE)")
    code = (
        "import resource\n\ndef result():\n    try:\n"
        "        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
        "        return {'raised': 1}\n    except (ValueError, OSError):\n        return {'raised': 0}\n"
    )
    assert evaluate(layer_plan, tmp_path, code).metrics == {"raised": 0.0}
