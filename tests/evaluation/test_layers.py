"""Layer planning, requirements that fail closed, staging, the seccomp fallback and `evoforge doctor`."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.errors import ConfigError
from evoforge.evaluation.cgroups import probe_cgroups
from evoforge.evaluation.launch_command import build_launch
from evoforge.evaluation.layers import find_seccomp, plan_sandbox
from evoforge.evaluation.preload import modules_to_preload
from evoforge.evaluation.sandbox import Sandbox
from evoforge.testing.processes import alive

RUNNER = (
    "import runpy\n\n\ndef evaluate(program_path):\n    return runpy.run_path(program_path)['result']()\n"
)
CONNECT = (
    "import socket\n\ndef result():\n    pair = socket.socketpair()\n    pair[0].close(); pair[1].close()\n"
    "    try:\n        socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
    "        return {{'connected': 1, 'unix': 1}}\n"
    "    except OSError as error:\n        return {{'connected': 0, 'unix': 1, 'errno': error.errno}}\n"
)


def test_the_process_plan_has_only_the_first_layers() -> None:
    plan = plan_sandbox(SandboxConfig(isolation="process"))
    assert plan.bwrap is None and plan.uid_base is None and plan.seccomp is None
    assert plan.python == sys.executable
    assert "network_off" not in plan.properties
    assert plan.describe().startswith("sandbox layers: L0 process limits")


def test_a_requirement_the_machine_cannot_meet_fails_closed() -> None:
    with pytest.raises(
        ConfigError, match=r"^sandbox.require asks for network_off, which this machine cannot"
    ):
        plan_sandbox(SandboxConfig(isolation="process", require=["network_off"]))


def test_requirements_that_are_met_pass() -> None:
    plan = plan_sandbox(SandboxConfig())
    assert plan_sandbox(SandboxConfig(require=sorted(plan.properties))).properties == plan.properties


def test_bubblewrap_gets_a_read_only_root_and_no_shared_namespace(tmp_path: Path) -> None:
    plan = dataclasses.replace(plan_sandbox(SandboxConfig(isolation="process")), bwrap="/usr/bin/bwrap")
    launch = build_launch(plan, tmp_path / "evaluator.py", tmp_path, uid=None, group=None)
    joined = " ".join(launch.argv)
    assert "--unshare-all" in joined and "--die-with-parent" in joined and "--remount-ro /" in joined
    assert launch.scratch == Path("/scratch") and launch.env["HOME"] == "/scratch"


@pytest.mark.skipif(find_seccomp()[0] is None, reason="libseccomp is not installed")
def test_the_seccomp_fallback_refuses_network_sockets(tmp_path: Path) -> None:
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(RUNNER)
    plan = dataclasses.replace(plan_sandbox(SandboxConfig(isolation="process")), seccomp=find_seccomp()[0])
    with socket.create_server(("127.0.0.1", 0)) as server:
        code = CONNECT.format(port=server.getsockname()[1])
        with Sandbox(evaluator, EvaluationConfig(timeout_s=20), plan=plan) as sandbox:
            result = asyncio.run(sandbox.evaluate(code))
    assert result.metrics == {"connected": 0.0, "unix": 1.0, "errno": 13.0}, result.error


def test_doctor_prints_every_layer() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evoforge.cli", "doctor"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for name in ("L0 process limits", "L1 supervisor", "separate uid", "properties: separate_uid"):
        assert name in done.stdout


DAEMON = (
    "import os, time\n\ndef result():\n    if os.fork() == 0:\n        os.setsid()\n"
    "        if os.fork() == 0:\n"
    "            open({pid_file!r}, 'w').write(str(os.getpid()))\n            time.sleep(600)\n"
    "        os._exit(0)\n"
    "    while not os.path.exists({pid_file!r}) or not open({pid_file!r}).read():\n        time.sleep(0.01)\n"
    "    {then}\n"
)


def _daemon_in_a_cgroup(tmp_path: Path, then: str) -> tuple[str | None, int]:
    """Run a candidate that leaves a setsid daemon, then does ``then``; (its error, the daemon's pid)."""
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(RUNNER)
    pid_file = tmp_path / "daemon.pid"
    process = plan_sandbox(SandboxConfig(isolation="process", landlock=False))  # the pid file is outside
    plan = dataclasses.replace(process, cgroups=probe_cgroups()[0])
    with Sandbox(evaluator, EvaluationConfig(timeout_s=2, cpu_s=60), plan=plan) as sandbox:
        result = asyncio.run(sandbox.evaluate(DAEMON.format(pid_file=str(pid_file), then=then)))
    assert not result.ok
    return result.error, int(pid_file.read_text())


def _ends(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


@pytest.mark.skipif(probe_cgroups()[0] is None, reason="no cgroup can be created here")
def test_the_cgroup_kills_a_daemon_that_outlives_a_timeout(tmp_path: Path) -> None:
    """Without a pid namespace, a setsid daemon escapes the process-group kill at the timeout.

    The candidate sleeps (a spinning one could meet its CPU limit before the wall clock)."""
    error, daemon = _daemon_in_a_cgroup(tmp_path, "time.sleep(600)")
    assert "timeout" in (error or ""), error
    assert _ends(daemon)


@pytest.mark.skipif(probe_cgroups()[0] is None, reason="no cgroup can be created here")
def test_the_cgroup_kills_a_daemon_whose_launcher_is_gone(tmp_path: Path) -> None:
    """With its launcher (the subreaper that kills what evaluations leave) killed, only the slot's
    cgroup still holds the daemon, which has left for init. (The candidate runs as this test's user
    here: it signals its own launcher only.)"""
    error, daemon = _daemon_in_a_cgroup(tmp_path, "os.kill(os.getppid(), 9)")
    assert "launcher ended (killed by signal SIGKILL)" in (error or ""), error
    assert _ends(daemon)


def test_auto_preload_is_the_evaluators_imports_less_its_own_modules(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("X = 1\n")
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(
        "from __future__ import annotations\nimport json, os.path\nfrom helper import X\n"
        "from evoforge.verify import run_solve\n\ndef evaluate(p):\n    import decimal\n"
    )
    plan = plan_sandbox(SandboxConfig())
    assert modules_to_preload(plan, evaluator) == ["json", "os.path", "evoforge.verify"]
    listed = plan_sandbox(SandboxConfig(preload=["colorsys"]))
    assert modules_to_preload(listed, evaluator) == ["colorsys"]


def test_preloading_a_module_that_is_not_installed_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^sandbox.preload: no module named 'nump' is installed$"):
        plan_sandbox(SandboxConfig(preload=["nump.random"]))


def test_evaluations_start_with_the_preloaded_modules_and_fresh_seeds(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(RUNNER)
    code = (
        "import sys\n\ndef result():\n    preloaded = 'colorsys' in sys.modules\n    import numpy\n"
        "    return {'preloaded': preloaded, 'draw': numpy.random.random()}\n"
    )
    plan = plan_sandbox(SandboxConfig(preload=["numpy.random", "colorsys"]))
    with Sandbox(evaluator, EvaluationConfig(timeout_s=20, parallel=1), plan=plan) as sandbox:
        results = [asyncio.run(sandbox.evaluate(code)) for _ in range(3)]
    assert [r.metrics["preloaded"] for r in results] == [1.0] * 3, results[0].error
    assert len({r.metrics["draw"] for r in results}) == 3  # forks of one launcher, not one seed


def test_a_preload_that_fails_in_the_sandbox_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each slot's launcher reports it; the run hears it once, and evaluations still run."""
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(RUNNER)
    plan = plan_sandbox(SandboxConfig(preload=["evoforge.testing.no_such_module"]))
    code = "def result():\n    return {'combined_score': 1.0}\n"

    async def evaluate_on_two_slots() -> list[bool]:
        with Sandbox(evaluator, EvaluationConfig(parallel=2), plan=plan) as sandbox:
            results = await asyncio.gather(*(sandbox.evaluate(code) for _ in range(4)))
        return [result.ok for result in results]

    with caplog.at_level("WARNING", logger="evoforge.evaluation.preload"):
        assert asyncio.run(evaluate_on_two_slots()) == [True] * 4
    failed = [r.getMessage() for r in caplog.records if "evoforge.testing.no_such_module" in r.getMessage()]
    assert len(failed) == 1 and "ModuleNotFoundError" in failed[0], failed
