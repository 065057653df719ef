"""Leases: no two evoforge processes (or sandboxes) ever hold the same number, hence the same slot uid,
cgroup or directory name; a dead holder's lease is free again, and what it left is cleared."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.layers import plan_sandbox
from evoforge.evaluation.leases import SandboxLeases, lease_directory, take_lease, try_lease
from evoforge.evaluation.sandbox import Sandbox
from evoforge.testing.processes import alive

START = 3_100_000  # far from sandbox.uid_base, so that no run of this machine leases these
HOLD = f"import sys\nfrom evoforge.evaluation.leases import take_lease\nprint(take_lease({START}).number)\n"
HOLD += "sys.stdout.flush()\nsys.stdin.read()\n"


def holder() -> tuple[subprocess.Popen[str], int]:
    """Another process holding the first free lease from START; it holds it until its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def test_a_held_lease_is_skipped_and_a_dead_holders_is_free_again() -> None:
    process, held = holder()
    try:
        mine = take_lease(START)
        assert mine.number != held and try_lease(held) is None
        process.kill()  # kill -9: no chance to release anything
        process.wait()
        reclaimed = try_lease(held)
        assert reclaimed is not None
        reclaimed.release()
        mine.release()
    finally:
        process.kill()
        process.wait()


def test_one_process_never_gets_a_number_twice() -> None:
    first, second = take_lease(START), take_lease(START)
    try:
        assert first.number != second.number
    finally:
        first.release()
        second.release()


@pytest.mark.skipif(os.geteuid() != 0, reason="slot uids exist only when evoforge runs as root")
def test_taking_a_uid_kills_what_a_dead_holder_left_under_it() -> None:
    probe = take_lease(START)
    uid = probe.number
    probe.release()
    left = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "600"])
    try:
        while left.poll() is None and os.stat(f"/proc/{left.pid}").st_uid != uid:
            time.sleep(0.01)  # until it runs as that uid
        leases = SandboxLeases(START, separate_uid=True)
        try:
            assert leases.group == uid  # the first free number: the one the dead holder had
            deadline = time.monotonic() + 5
            while alive(left.pid) and left.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert left.poll() == -signal.SIGKILL
        finally:
            leases.release()
    finally:
        left.kill()
        left.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="slot uids exist only when evoforge runs as root")
@pytest.mark.skipif(
    plan_sandbox(SandboxConfig()).uid_base is None,
    reason="no separate uid per slot here (see evoforge doctor)",
)
def test_two_sandboxes_never_share_a_slot_uid(tmp_path: Path) -> None:
    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text("import os\n\ndef evaluate(path):\n    return {'uid': os.getuid()}\n")
    config = EvaluationConfig(timeout_s=10, memory_mb=1024, parallel=2)
    plan = plan_sandbox(SandboxConfig())

    async def uids(sandbox: Sandbox) -> set[float]:
        results = await asyncio.gather(sandbox.evaluate(""), sandbox.evaluate(""))
        return {result.metrics["uid"] for result in results}

    with Sandbox(evaluator, config, plan=plan) as first, Sandbox(evaluator, config, plan=plan) as second:
        first_uids, second_uids = asyncio.run(uids(first)), asyncio.run(uids(second))
    assert len(first_uids) == len(second_uids) == 2 and not first_uids & second_uids


def test_doctor_shows_the_landlock_layer_and_where_leases_are_held() -> None:
    process, _ = holder()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "evoforge.cli", "doctor"], capture_output=True, text=True, timeout=60
        )
    finally:
        process.kill()
        process.wait()
    assert done.returncode == 0, done.stderr
    assert "] L1' landlock: " in done.stdout and "writes_confined" in done.stdout
    held = done.stdout.split(f"sandbox leases: {lease_directory()} (", 1)[1].split()[0]
    assert int(held) >= 1  # the holder's, at least
