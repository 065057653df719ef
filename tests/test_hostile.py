"""Hostile candidates against the real sandbox with every layer this machine offers.

Each case is a real program run through ``Sandbox`` exactly as a run does, from this test process
playing the controller. After each case: the evaluation ended with a result (never an exception
here), this process and a root-owned sentinel process are alive, and nothing of the candidate
remains. A case that only a stronger layer stops is skipped when that layer is not active, because
without it the case would hurt the machine (``kill(-1)`` as root ends every process); docs/security.md
lists the cases and the layer that stops each.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.layers import plan_sandbox
from evoforge.evaluation.sandbox import Sandbox
from evoforge.records import Evaluation
from evoforge.testing.processes import alive

PLAN = plan_sandbox(SandboxConfig())
CIRCLES = Path(__file__).parents[1] / "examples" / "circle_packing_26" / "evaluator.py"
# The in-process pattern: the candidate runs inside the evaluator's interpreter.
RUNNER = """import runpy


def evaluate(program_path):
    return runpy.run_path(program_path)["result"]()
"""
SECRET = f"evoforge-hostile-{uuid.uuid4().hex}"
MARKER = f"evoforge-daemon-{uuid.uuid4().hex}"
CONFIG = EvaluationConfig(timeout_s=8, memory_mb=1024, max_output_bytes=1_000_000, max_file_mb=64, parallel=2)


def needs(*properties: str) -> pytest.MarkDecorator:
    """Skip unless one of ``properties`` is active: without it the case is not contained."""
    missing = not any(name in PLAN.properties for name in properties)
    return pytest.mark.skipif(missing, reason=f"needs one of {properties} (see `evoforge doctor`)")


@pytest.fixture(scope="module")
def sentinel() -> Iterator[subprocess.Popen[bytes]]:
    """A process of the controller's uid that no candidate may kill."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture(autouse=True)
def untouched(sentinel: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EVOFORGE_TEST_API_KEY", SECRET)
    yield
    assert sentinel.poll() is None, "a candidate killed a process of the controller's uid"
    assert not _processes_with(MARKER), "a candidate's process outlived its evaluation"


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if text.encode() in cmdline.read() and alive(int(entry)):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def evaluate(tmp_path: Path, code: str, evaluator: str | Path = RUNNER, **limits: object) -> Evaluation:
    if isinstance(evaluator, Path):
        path = evaluator
    else:
        path = tmp_path / "evaluator.py"
        path.write_text(evaluator)
    config = CONFIG.model_copy(update=limits)
    with Sandbox(path, config, plan=PLAN) as sandbox:
        result = asyncio.run(sandbox.evaluate(code))
    deadline = time.monotonic() + 5
    while _processes_with(MARKER) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def failed(result: Evaluation, *fragments: str) -> bool:
    return not result.ok and result.score == -math.inf and any(f in (result.error or "") for f in fragments)


@needs("separate_uid")
def test_candidates_run_as_a_leased_uid_with_only_the_stage_group(tmp_path: Path) -> None:
    code = (
        "import os\n\ndef result():\n"
        "    return {'uid': os.getuid(), 'gid': os.getgid(), 'groups': len(os.getgroups())}\n"
    )
    metrics = evaluate(tmp_path, code).metrics
    assert PLAN.uid_base is not None and metrics["uid"] >= PLAN.uid_base
    assert metrics["gid"] == metrics["uid"] and metrics["groups"] == 1.0  # the group of the staged folder


def test_memory_bomb(tmp_path: Path) -> None:
    code = "def result():\n    blob = bytearray(20 * 1024**3)\n    return {'score': len(blob)}\n"
    assert failed(evaluate(tmp_path, code), "MemoryError")


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


def test_memory_bomb_across_forked_children(tmp_path: Path) -> None:
    assert evaluate(tmp_path, fork_children(2048)).metrics["refused"] == 4.0


@needs("memory_total")
def test_memory_of_forked_children_is_limited_as_a_whole(tmp_path: Path) -> None:
    """Each child stays under the per-process limit; together they pass it: L3 stops them."""
    result = evaluate(tmp_path, fork_children(600))
    assert not result.ok or result.metrics["completed"] < 4, result.metrics


def test_infinite_loop(tmp_path: Path) -> None:
    code = "def result():\n    while True:\n        pass\n"
    assert failed(evaluate(tmp_path, code, timeout_s=2), "timeout", "CPU time")


def test_sleep_forever(tmp_path: Path) -> None:
    code = "import time\n\ndef result():\n    time.sleep(10**6)\n"
    assert failed(evaluate(tmp_path, code, timeout_s=1), "timeout")


@needs("separate_uid")
def test_fork_bomb_is_bounded(tmp_path: Path) -> None:
    code = (
        "import os, sys, time\n\ndef result():\n    forks = 0\n    for _ in range(5000):\n        try:\n"
        "            pid = os.fork()\n        except OSError:\n            break\n        if pid == 0:\n"
        f"            os.execv('/bin/sleep', ['sleep', '60', {MARKER!r}])\n"
        "        forks += 1\n    return {'forks': forks}\n"
    )
    result = evaluate(tmp_path, code)
    assert result.ok and result.metrics["forks"] < 5000, result.error


def test_write_5_gb(tmp_path: Path) -> None:
    code = (
        "def result():\n    with open('big.bin', 'wb') as out:\n        for _ in range(5 * 1024):\n"
        "            out.write(b'x' * 1024**2)\n    return {'score': 1}\n"
    )
    assert failed(evaluate(tmp_path, code), "File size", "SIGXFSZ", "No space", "OSError")


def test_many_files(tmp_path: Path) -> None:
    code = (
        "import os\n\ndef result():\n    made = 0\n    try:\n        for i in range(20000):\n"
        "            open(f'f{i}', 'w').close()\n            made += 1\n    except OSError:\n        pass\n"
        "    return {'made': made}\n"
    )
    result = evaluate(tmp_path, code)
    assert result.ok and result.metrics["made"] > 0
    assert not [p for p in Path("/tmp").glob("evoforge-*") if (p / "f0").exists()]


def test_print_1_gb(tmp_path: Path) -> None:
    code = "import sys\n\ndef result():\n    for _ in range(1024):\n        sys.stdout.write('x' * 1024**2)\n"
    assert failed(evaluate(tmp_path, code), "output limit exceeded")


DAEMON = (
    "import os\n\ndef daemonize():\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n"
    f"            os.execv('/bin/sleep', ['sleep', '600', {MARKER!r}])\n        os._exit(0)\n"
)


@needs("tree_kill")
def test_setsid_daemon_does_not_survive(tmp_path: Path) -> None:
    code = DAEMON + "\ndef result():\n    daemonize()\n    return {'score': 1}\n"
    assert evaluate(tmp_path, code).ok  # the fixture asserts that no daemon survives


@needs("pid_namespace")
def test_setsid_daemon_does_not_survive_a_timeout(tmp_path: Path) -> None:
    code = DAEMON + "\ndef result():\n    daemonize()\n    while True:\n        pass\n"
    assert failed(evaluate(tmp_path, code, timeout_s=2), "timeout", "CPU time")


def test_kill_parent(tmp_path: Path) -> None:
    code = (
        "import os, signal\n\ndef result():\n    os.kill(os.getppid(), signal.SIGKILL)\n    return {'x': 1}\n"
    )
    result = evaluate(tmp_path, code)
    assert result.ok or result.score == -math.inf


@needs("separate_uid", "pid_namespace")
def test_kill_the_controller_by_pid(tmp_path: Path) -> None:
    code = (
        "import os, signal\n\ndef result():\n    try:\n"
        f"        os.kill({os.getpid()}, signal.SIGKILL)\n    except OSError as error:\n"
        "        return {'errno': error.errno}\n    return {'errno': 0}\n"
    )
    evaluate(tmp_path, code)  # in a pid namespace the number may name a process of the sandbox itself


@needs("separate_uid", "pid_namespace")
def test_kill_every_process(tmp_path: Path) -> None:
    code = "import os, signal\n\ndef result():\n    os.kill(-1, signal.SIGKILL)\n    return {'x': 1}\n"
    evaluate(tmp_path, code)  # kill(-1) spares the caller: the evaluation may even succeed


@needs("separate_uid", "pid_namespace")
def test_read_the_controller_environment(tmp_path: Path) -> None:
    code = (
        "import os\n\ndef result():\n    found = 0\n"
        "    for pid in ['self', str(os.getppid())] + os.listdir('/proc'):\n"
        "        try:\n            found += "
        f"{SECRET!r}.encode() in open(f'/proc/{{pid}}/environ', 'rb').read()\n"
        "        except OSError:\n            pass\n"
        f"    found += {SECRET!r} in str(os.environ)\n    return {{'found': found}}\n"
    )
    result = evaluate(tmp_path, code)
    assert result.ok and result.metrics == {"found": 0.0}


def test_read_the_run_database(tmp_path: Path) -> None:
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
    if "separate_uid" not in PLAN.properties and "private_filesystem" not in PLAN.properties:
        pytest.skip("the candidate shares the controller's uid and filesystem view")
    assert evaluate(tmp_path, code).metrics == {"read": 0.0}


@needs("private_filesystem")
def test_write_outside_scratch(tmp_path: Path) -> None:
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
    result = evaluate(tmp_path, code)
    leaked = [t for t in targets if t.exists()]
    for path in leaked:
        path.unlink()
    assert not leaked and result.metrics == {"written": 0.0}


@needs("network_off")
def test_tcp_connection_to_a_local_listener(tmp_path: Path) -> None:
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
        result = evaluate(tmp_path, code)
        accepted.append(None)  # stops the listener
        listener.join()
    assert result.metrics == {"connected": 0.0} and accepted == [None]


def test_os_exit(tmp_path: Path) -> None:
    code = "import os\n\ndef result():\n    os._exit(0)\n"
    assert failed(evaluate(tmp_path, code), "before returning a result")


def test_segfault(tmp_path: Path) -> None:
    code = "import ctypes\n\ndef result():\n    ctypes.string_at(0)\n"
    assert failed(evaluate(tmp_path, code), "SIGSEGV")


def test_exhaust_file_descriptors(tmp_path: Path) -> None:
    code = (
        "def result():\n    kept = []\n    try:\n        while True:\n"
        "            kept.append(open('/dev/null'))\n"
        "    except OSError:\n        return {'opened': len(kept)}\n"
    )
    result = evaluate(tmp_path, code)
    assert result.ok and result.metrics["opened"] < 300


def test_raise_its_own_limits(tmp_path: Path) -> None:
    code = (
        "import resource\n\ndef result():\n    try:\n"
        "        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
        "        return {'raised': 1}\n    except (ValueError, OSError):\n        return {'raised': 0}\n"
    )
    assert evaluate(tmp_path, code).metrics == {"raised": 0.0}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("float('nan')", "NaN"),
        ("float('inf')", "inf"),
        ("10**400", "metric"),
        ("complex(1, 2)", "metric"),
        ("'1.0'", "metric"),
    ],
    ids=["nan", "inf", "huge", "complex", "string"],
)
def test_bad_metrics(tmp_path: Path, value: str, error: str) -> None:
    result = evaluate(tmp_path, f"def result():\n    return {{'combined_score': {value}}}\n")
    assert failed(result, error, "invalid result")


SOLVE_GRID = """
def solve():
    return [[(c + 0.5) / 6, (r + 0.5) / 5, 0.08] for r in range(5) for c in range(6)][:26]
"""


CHEATS = {
    "redefine_the_scoring_function": (
        "import sys\nfor module in list(sys.modules.values()):\n"
        "    if hasattr(module, 'score_packing'):\n        module.score_packing = lambda obj: 1e9\n"
    ),
    "mutate_sys_modules_of_the_evaluator": (
        "import sys, types\nfake = types.ModuleType('math')\nfake.fsum = lambda values: 1e9\n"
        "fake.hypot = lambda *a: 10.0\nsys.modules['math'] = fake\n"
    ),
    "forge_the_result_pipe": (
        'import os\nforged = b\'{"ok": true, "metrics": {"combined_score": 1e9}}\'\n'
        "for fd in range(3, 64):\n    try:\n        os.write(fd, forged)\n    except OSError:\n        pass\n"
    ),
}


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_a_cheating_candidate_gets_its_honest_score(tmp_path: Path, cheat: str) -> None:
    assert evaluate(tmp_path, CHEATS[cheat] + SOLVE_GRID, CIRCLES).score == pytest.approx(26 * 0.08)


def test_return_a_claimed_score_instead_of_the_object(tmp_path: Path) -> None:
    code = "def solve():\n    return 2.6359830849\n"
    result = evaluate(tmp_path, code, CIRCLES)
    assert result.score == -math.inf and "expected a list" in result.artifacts["infeasible"]


def test_overwrite_the_evaluator(tmp_path: Path) -> None:
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(RUNNER)
    code = (
        "import sys\n\ndef result():\n    try:\n"
        f"        open({str(evaluator)!r}, 'w').write('')\n"
        "        open(sys.modules['evaluator'].__file__, 'w').write('')\n"
        "        return {'overwrote': 1}\n    except OSError:\n        return {'overwrote': 0}\n"
    )
    result = evaluate(tmp_path, code, evaluator)
    assert evaluator.read_text() == RUNNER
    if "separate_uid" in PLAN.properties or "private_filesystem" in PLAN.properties:
        assert result.metrics == {"overwrote": 0.0}


# Against the slot's warm launcher: whatever an evaluation does to it, the next one runs clean.


def evaluate_in_turn(tmp_path: Path, *codes: str, **limits: object) -> list[Evaluation]:
    """Evaluate ``codes`` one after another in a single slot, so they share its launcher."""
    path = tmp_path / "evaluator.py"
    path.write_text(RUNNER)
    config = CONFIG.model_copy(update={"parallel": 1, **limits})
    with Sandbox(path, config, plan=PLAN) as sandbox:
        return [asyncio.run(sandbox.evaluate(code)) for code in codes]


PLAIN = "def result():\n    return {'score': 2.5}\n"


# With Landlock's signal scope, the launcher is outside the evaluation's domain: the signal is refused.
REFUSED = "PermissionError"
SCOPED = PLAN.landlock is not None and PLAN.landlock >= 6


def test_kill_the_launcher(tmp_path: Path) -> None:
    code = "import os, signal\n\ndef result():\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    first, second = evaluate_in_turn(tmp_path, code, PLAIN)
    assert failed(first, REFUSED if SCOPED else "launcher") and second.score == 2.5


def test_stop_the_launcher(tmp_path: Path) -> None:
    code = "import os, signal\n\ndef result():\n    os.kill(os.getppid(), signal.SIGSTOP)\n"
    first, second = evaluate_in_turn(tmp_path, code, PLAIN, timeout_s=1)
    assert failed(first, REFUSED if SCOPED else "timeout") and second.score == 2.5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and prctl are Linux's")
def test_read_the_launchers_memory_or_descriptors(tmp_path: Path) -> None:
    code = (
        "import os\n\ndef result():\n    opened = 0\n"
        "    for name in ('mem', 'environ', 'fd/4'):\n        try:\n"
        "            open(f'/proc/{os.getppid()}/{name}', 'rb').close()\n            opened += 1\n"
        "        except OSError:\n            pass\n"
        "    return {'opened': opened, 'fds': len(os.listdir('/proc/self/fd'))}\n"
    )
    [result] = evaluate_in_turn(tmp_path, code)
    assert result.metrics["fds"] == 5.0  # 0-3 and the listing's own
    if "separate_uid" in PLAN.properties or os.geteuid() != 0:  # a root candidate may ptrace anything
        assert result.metrics["opened"] == 0.0


@needs("tree_kill")
def test_what_an_evaluation_leaves_is_gone_before_the_next(tmp_path: Path) -> None:
    code = (
        DAEMON + "import os\n\ndef result():\n    seen = sorted(os.listdir('.'))\n"
        "    open('left.txt', 'w').write('x')\n    daemonize()\n"
        "    return {'seen': len(seen)}\n"
    )
    results = evaluate_in_turn(tmp_path, code, code, code)
    assert [r.metrics for r in results] == [{"seen": 1.0}] * 3  # its program file only


def test_the_controller_keeps_working_after_every_case(tmp_path: Path) -> None:
    """Placed last: a plain evaluation still works and this interpreter is intact."""
    assert evaluate(tmp_path, "def result():\n    return {'score': 2.5}\n").score == 2.5
    assert sys.modules["evoforge.evaluation.sandbox"].Sandbox is Sandbox
