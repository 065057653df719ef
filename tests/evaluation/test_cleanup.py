"""What candidates leave on disk: trees cleanup cannot be beaten by, leftovers outside the scratch
directory, and the slot retired when something cannot be removed. Real sandboxes, real candidates.

The sandboxes run with every layer this machine offers (as root: a uid per slot), and with
``isolation: process`` where the case is about the walk itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import logging
import os
import shutil
import signal
import struct
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.layers import SandboxPlan, plan_sandbox
from evoforge.evaluation.sandbox import Sandbox
from evoforge.testing.processes import children

RUNNER = (
    "import runpy\n\n\ndef evaluate(program_path):\n    return runpy.run_path(program_path)['result']()\n"
)
ALL_LAYERS = plan_sandbox(SandboxConfig())
# Where Landlock confines writes to the scratch directory and /dev/shm, /tmp is out of reach: without
# it, candidates can write there too.
WRITE_ANYWHERE = plan_sandbox(SandboxConfig(landlock=False))
SHARED_PLANS = pytest.mark.parametrize(
    "plan",
    [ALL_LAYERS, WRITE_ANYWHERE] if ALL_LAYERS.landlock is not None else [ALL_LAYERS],
    ids=["all-layers", "no-landlock"][: 2 if ALL_LAYERS.landlock is not None else 1],
)
PROCESS_ONLY = plan_sandbox(SandboxConfig(isolation="process"))
PLANS = pytest.mark.parametrize("plan", [ALL_LAYERS, PROCESS_ONLY], ids=["all-layers", "process"])
GOOD = "def result():\n    return {'score': 1.0}\n"
DEEP = (
    "import os\n\ndef result():\n    top = os.open('.', os.O_RDONLY)\n    here = top\n"
    "    for _ in range(3000):\n        os.mkdir('d', dir_fd=here)\n"
    "        below = os.open('d', os.O_RDONLY, dir_fd=here)\n        os.close(here)\n        here = below\n"
    "    os.close(here)\n    return {'score': 2.0}\n"
)
LOCKED_LINKS = (
    "import os\n\ndef result():\n    os.mkdir('locked')\n    os.symlink('/', 'locked/root')\n"
    "    os.symlink({victims!r}, 'locked/victims')\n    os.chmod('locked', 0)\n"
    "    os.mkdir('outer')\n    os.mkdir('outer/inner')\n    open('outer/inner/file', 'w').write('x')\n"
    "    os.chmod('outer/inner/file', 0)\n    os.chmod('outer/inner', 0)\n    os.chmod('outer', 0)\n"
    "    return {{'score': 3.0}}\n"
)


@pytest.fixture
def scratch_root() -> Iterator[Path]:
    """Where the slots' scratch directories go: every slot uid can reach it (tmp_path is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="evoforge-test-scratch-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def sandbox(tmp_path: Path, scratch_root: Path, plan: SandboxPlan, **limits: object) -> Sandbox:
    (tmp_path / "evaluator.py").write_text(RUNNER)
    config = EvaluationConfig.model_validate({"timeout_s": 60, "memory_mb": 1024, "parallel": 1, **limits})
    return Sandbox(tmp_path / "evaluator.py", config, plan=plan, scratch_root=scratch_root)


def slot_directories_are_empty(scratch_root: Path) -> bool:
    return all(not os.listdir(slot) for slot in scratch_root.iterdir())


@PLANS
async def test_a_tree_thousands_of_levels_deep_is_removed(
    tmp_path: Path, scratch_root: Path, plan: SandboxPlan
) -> None:
    async with sandbox(tmp_path, scratch_root, plan) as box:
        deep = await box.evaluate(DEEP)
        assert deep.ok and deep.score == 2.0, deep.error
        assert slot_directories_are_empty(scratch_root)
        assert (await box.evaluate(GOOD)).ok
    assert os.listdir(scratch_root) == []


@PLANS
async def test_locked_directories_and_links_out_are_removed_without_following_them(
    tmp_path: Path, scratch_root: Path, plan: SandboxPlan
) -> None:
    victims = tmp_path / "victims"
    victims.mkdir()
    (victims / "keep.txt").write_text("not the candidate's")
    modes = {path: path.stat().st_mode for path in (Path("/"), victims, victims / "keep.txt")}
    async with sandbox(tmp_path, scratch_root, plan) as box:
        locked = await box.evaluate(LOCKED_LINKS.format(victims=str(victims)))
        assert locked.ok and locked.score == 3.0, locked.error
        assert slot_directories_are_empty(scratch_root)
        assert (await box.evaluate(GOOD)).ok
    assert os.listdir(scratch_root) == []
    assert (victims / "keep.txt").read_text() == "not the candidate's"
    assert {path: path.stat().st_mode for path in modes} == modes


FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x10
IMMUTABLE = (
    "import fcntl, os, struct\n\ndef result():\n    os.mkdir('keep')\n"
    "    with open('keep/stone', 'w') as stone:\n"
    f"        fcntl.ioctl(stone, {FS_IOC_SETFLAGS}, struct.pack('i', {FS_IMMUTABLE_FL}))\n"
    "    return {'combined_score': 4.0, 'launcher': os.getppid()}\n"
)
LAUNCHER = "import os\n\ndef result():\n    return {'launcher': os.getppid()}\n"


def _can_set_immutable(directory: Path) -> bool:
    probe = directory / "probe"
    with open(probe, "w") as file:
        try:
            fcntl.ioctl(file, FS_IOC_SETFLAGS, struct.pack("i", FS_IMMUTABLE_FL))
        except OSError:
            return False
        fcntl.ioctl(file, FS_IOC_SETFLAGS, struct.pack("i", 0))
    return True


def _release_immutables(root: Path) -> None:
    for path in root.rglob("stone"):
        with contextlib.suppress(OSError), open(path) as file:
            fcntl.ioctl(file, FS_IOC_SETFLAGS, struct.pack("i", 0))


async def test_a_name_nothing_can_remove_retires_the_slot_and_the_result_still_counts(
    tmp_path: Path, scratch_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A root candidate (``isolation: process`` as root) makes a file immutable: neither its launcher
    nor the controller can remove it. The evaluation keeps its result, the slot gets a new launcher,
    one log line says what stayed, and the next evaluation runs as usual."""
    if os.geteuid() != 0 or not _can_set_immutable(scratch_root):
        pytest.skip("needs root and a file system with the immutable flag")
    try:
        async with sandbox(tmp_path, scratch_root, PROCESS_ONLY) as box:
            with caplog.at_level(logging.WARNING, logger="evoforge.evaluation.sandbox"):
                stuck = await box.evaluate(IMMUTABLE)
            after = await box.evaluate(LAUNCHER)
        assert stuck.ok and stuck.score == 4.0, stuck.error
        assert after.ok and after.metrics["launcher"] != stuck.metrics["launcher"]
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1 and "left in place" in lines[0] and str(scratch_root) in lines[0], lines
    finally:
        _release_immutables(scratch_root)


SHARED_TEMP = ("/tmp", "/dev/shm")
LEAVE = (
    "import os, time\n\ndef result():\n    left = []\n    for path, size in {targets!r}:\n"
    "        try:\n            with open(path, 'wb') as file:\n                file.write(b'x' * size)\n"
    "            left.append(path)\n        except OSError:\n            pass\n"
    "    {then}\n    return {{'left': len(left)}}\n"
)
LOOK = (
    "import os\n\ndef result():\n"
    "    return {{'seen': sum(os.path.exists(path) for path, _ in {targets!r})}}\n"
)


@pytest.fixture
def others_files() -> Iterator[list[Path]]:
    """Files in /tmp and /dev/shm that belong to other uids (the controller's, nobody's)."""
    made = []
    for directory in SHARED_TEMP:
        if os.path.isdir(directory):
            for uid in {os.geteuid(), 65534}:
                path = Path(directory) / f"evoforge-test-other-{uid}-{uuid.uuid4().hex}"
                path.write_text("not the candidate's")
                with contextlib.suppress(PermissionError):
                    os.chown(path, uid, -1)
                made.append(path)
    yield made
    for path in made:
        path.unlink(missing_ok=True)


APART = pytest.mark.skipif(
    ALL_LAYERS.uid_base is None and ALL_LAYERS.bwrap is None,
    reason="candidates run as this user: what they own in /tmp is this user's too",
)


def shared_targets() -> list[tuple[str, int]]:
    """50 MB in /dev/shm, a small file in /tmp (not writable under Landlock), then a marker."""
    tag = uuid.uuid4().hex
    shm, tmp = f"/dev/shm/evoforge-test-{tag}", f"/tmp/evoforge-test-{tag}"
    return [(shm, 50 * 1024 * 1024), (tmp, 1000), (f"{shm}-written", 0)]


@APART
@SHARED_PLANS
async def test_what_a_slot_leaves_in_tmp_and_dev_shm_is_removed_after_each_evaluation(
    tmp_path: Path, scratch_root: Path, others_files: list[Path], plan: SandboxPlan
) -> None:
    targets = shared_targets()
    try:
        async with sandbox(tmp_path, scratch_root, plan) as box:
            left = await box.evaluate(LEAVE.format(targets=targets, then="pass"))
            seen = await box.evaluate(LOOK.format(targets=targets))  # the same slot, the next candidate
        writes_tmp = plan.landlock is None and plan.bwrap is None  # no /tmp in bubblewrap's view
        assert left.ok and left.metrics["left"] == (3 if writes_tmp else 2), left.error
        assert seen.ok and seen.metrics["seen"] == 0, seen.error
        assert not any(os.path.exists(path) for path, _ in targets)  # as seen from here
        assert all(path.read_text() == "not the candidate's" for path in others_files)
    finally:
        for path, _ in targets:
            Path(path).unlink(missing_ok=True)


@APART
@SHARED_PLANS
@pytest.mark.skipif(ALL_LAYERS.bwrap is not None, reason="bubblewrap's /dev/shm ends with its launcher")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the launcher in /proc")
async def test_what_a_slot_leaves_is_removed_when_its_launcher_is_killed(
    tmp_path: Path, scratch_root: Path, others_files: list[Path], plan: SandboxPlan
) -> None:
    """The launcher dies before it can clean up: the controller removes what the slot's uid left."""
    targets = shared_targets()
    before = children()
    try:
        async with sandbox(tmp_path, scratch_root, plan) as box:
            leaving = asyncio.create_task(box.evaluate(LEAVE.format(targets=targets, then="time.sleep(600)")))
            while not os.path.exists(targets[-1][0]):
                await asyncio.sleep(0.02)
            for launcher in children() - before:
                os.kill(launcher, signal.SIGKILL)
            left = await leaving
            seen = await box.evaluate(LOOK.format(targets=targets))  # the same slot, a new launcher
        assert "launcher ended (killed by signal SIGKILL)" in (left.error or ""), left.error
        assert seen.ok and seen.metrics["seen"] == 0, seen.error
        assert not any(os.path.exists(path) for path, _ in targets)
        assert all(path.read_text() == "not the candidate's" for path in others_files)
    finally:
        for path, _ in targets:
            Path(path).unlink(missing_ok=True)


IPC = (
    "import ctypes\n\ndef result():\n    libc = ctypes.CDLL(None, use_errno=True)\n"
    "    made = libc.shmget({key}, 1024 * 1024, {create}) >= 0 and libc.msgget({key}, {create}) >= 0\n"
    "    return {{'made': int(made)}}\n"
)
IPC_CREATE = 0o1000 | 0o600
IPC_RMID = 0


def _remove_ipc(key: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    segment, queue = libc.shmget(key, 0, 0), libc.msgget(key, 0)
    if segment >= 0:
        libc.shmctl(segment, IPC_RMID, None)
    if queue >= 0:
        libc.msgctl(queue, IPC_RMID, None)


@APART
@pytest.mark.skipif(not os.path.exists("/proc/sysvipc/shm"), reason="no System V IPC here")
async def test_a_slots_system_v_shared_memory_and_queues_are_removed(
    tmp_path: Path, scratch_root: Path
) -> None:
    """Like /dev/shm, a System V segment keeps its memory after its creator has gone."""
    theirs, ours = (int.from_bytes(os.urandom(3), "big") + 1 for _ in range(2))
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.shmget(ours, 4096, IPC_CREATE) >= 0  # the controller's own: not the slot's to remove
    try:
        async with sandbox(tmp_path, scratch_root, ALL_LAYERS) as box:
            made = await box.evaluate(IPC.format(key=theirs, create=IPC_CREATE))
            again = await box.evaluate(IPC.format(key=theirs, create=0))  # the next candidate: gone?
        assert made.ok and made.metrics["made"] == 1.0, made.error
        assert again.ok and again.metrics["made"] == 0.0, again.error
        assert libc.shmget(ours, 0, 0) >= 0
    finally:
        _remove_ipc(theirs)
        _remove_ipc(ours)
