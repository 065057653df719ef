"""Two evoforge runs on one machine: a hostile run's candidates cannot touch a concurrent run.

The attacking run's every child (all but its initial program) signals every process it can see and
writes into every file and directory it can reach under /tmp, /dev/shm and the victim's task and run
directories (rewriting programs, planting modules that would shadow the evaluator's imports). The
victim's evaluator makes its metrics a pure function of the code it was given, and says whether its
program file changed under it, so a stored program whose metrics do not match its code is caught.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from pathlib import Path

import pytest

import evoforge
from evoforge.config import SandboxConfig
from evoforge.evaluation.layers import plan_sandbox
from evoforge.testing.tasks import evoforge_command, write_task

COMBINATIONS = {  # the layers the machine offers, and the same without Landlock: uids alone then
    "every-layer": [],
    "without-landlock": ["--set", "sandbox.landlock=false"],
}
VICTIM_ITERATIONS = 40

VICTIM_PROGRAM = """# EVOLVE-BLOCK-START
def solve():
    x = 1.0
    return x
# EVOLVE-BLOCK-END
"""

# The value is computed from the bytes read first, so the metrics are a function of those bytes only.
VICTIM_EVALUATOR = """import hashlib
import time


def evaluate(program_path):
    with open(program_path, "rb") as source:
        code = source.read()
    namespace = {}
    exec(compile(code, program_path, "exec"), namespace)
    value = float(namespace["solve"]())
    time.sleep(0.05)  # in flight while the other run attacks
    with open(program_path, "rb") as source:
        unchanged = source.read() == code
    return {
        "combined_score": -((value - 3.7) ** 2),
        "value": value,
        "digest": float(int(hashlib.sha256(code).hexdigest()[:12], 16)),
        "unchanged": float(unchanged),
    }
"""

ATTACKER_PROGRAM = """import os
import signal
import stat

VICTIM_DIRS = {victim_dirs!r}
SHADOWS = ("hashlib.py", "time.py", "evaluator.py")
FORGED = b"def solve():\\n    return 3.7\\n"


def writable_entries(root, cap=5000):
    seen = 0
    for directory, dirs, files in os.walk(root):
        for name in files:
            seen += 1
            if seen > cap:
                return
            yield os.path.join(directory, name), False
        yield directory, True


def write_everywhere():
    wrote = 0
    for root in ("/tmp", "/dev/shm", *VICTIM_DIRS):
        for path, is_dir in writable_entries(root):
            try:
                info = os.lstat(path)
                if is_dir and not info.st_mode & stat.S_ISVTX:  # shared sticky dirs are nobody's run
                    for name in SHADOWS:
                        with open(os.path.join(path, name), "wb") as planted:
                            planted.write(b"raise SystemExit(0)\\n")
                        wrote += 1
                elif stat.S_ISREG(info.st_mode):
                    with open(path, "r+b") as target:
                        target.write(FORGED)
                        target.truncate()
                    wrote += 1
            except OSError:
                pass
    return wrote


def signal_everything(everything):
    me, parent = os.getpid(), os.getppid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (me, parent):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
    if everything:
        os.kill(-1, signal.SIGKILL)  # spares only the caller: its launcher goes too


# EVOLVE-BLOCK-START
X = 1.0
# EVOLVE-BLOCK-END


def solve():
    if X != 1.0:  # every child attacks; the initial program must pass for the run to start
        write_everywhere()
        signal_everything(everything=int(abs(X) * 1000) % 2 == 0)
    return X
"""

CONFIG = "evaluation:\n  timeout_s: 20\n  parallel: 2\nmutators: {tune: 1.0}\n"


def evaluated(run_dir: Path) -> int:
    try:
        with evoforge.load_run(run_dir) as run:
            return len(run.programs())
    except Exception:  # not created yet, or mid-creation
        return 0


def solve_of(code: str) -> float:
    namespace: dict[str, object] = {}
    exec(compile(code, "<stored>", "exec"), namespace)
    return float(namespace["solve"]())  # type: ignore[operator]


def skip_unless_contained(landlock: bool) -> None:
    properties = plan_sandbox(SandboxConfig(landlock=landlock)).properties
    if "separate_uid" not in properties and not {"writes_confined", "signals_confined"} <= properties:
        pytest.skip("candidates would run as evoforge's own user, free to write and signal (evoforge doctor)")


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_a_hostile_run_cannot_touch_a_concurrent_run(tmp_path: Path, combination: str) -> None:
    options = COMBINATIONS[combination]
    skip_unless_contained(landlock=not options)
    victim_task = write_task(
        tmp_path, CONFIG, name="victim", program=VICTIM_PROGRAM, evaluator=VICTIM_EVALUATOR
    )
    victim_run = tmp_path / "victim-run"
    attacker_program = ATTACKER_PROGRAM.format(victim_dirs=[str(victim_task), str(victim_run)])
    attacker_task = write_task(tmp_path, CONFIG, name="attacker", program=attacker_program)
    attacker_run = tmp_path / "attacker-run"
    attacker = subprocess.Popen(
        evoforge_command(
            "run", str(attacker_task), "--run-dir", str(attacker_run), "--iterations", "100000", *options
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while evaluated(attacker_run) < 3 and attacker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        attacks_before = evaluated(attacker_run)
        assert attacks_before >= 3 and attacker.poll() is None, attacker.communicate()[1]
        victim = subprocess.run(
            evoforge_command(
                "run",
                str(victim_task),
                "--run-dir",
                str(victim_run),
                "--iterations",
                str(VICTIM_ITERATIONS),
                *options,
            ),
            capture_output=True,
            text=True,
            timeout=300,
        )
        attacks = evaluated(attacker_run) - attacks_before
        assert attacker.poll() is None, f"the attacking run ended first: {attacker.communicate()[1]}"
    finally:
        attacker.send_signal(signal.SIGTERM)
        attacker.communicate(timeout=120)
    assert victim.returncode == 0, victim.stderr
    assert attacks >= 5, "the attacker did not run alongside the victim"
    with evoforge.load_run(victim_run) as run:
        programs = run.programs()
    assert len(programs) == VICTIM_ITERATIONS
    failed = [(p.id, p.artifacts.get("error")) for p in programs if not p.ok]
    assert not failed
    for program in programs:
        value = solve_of(program.code)
        assert program.metrics == {
            "combined_score": -((value - 3.7) ** 2),
            "value": value,
            "digest": float(int(hashlib.sha256(program.code.encode()).hexdigest()[:12], 16)),
            "unchanged": 1.0,
        }, program.id
    assert (victim_task / "evaluator.py").read_text() == VICTIM_EVALUATOR
    assert sorted(p.name for p in victim_task.iterdir()) == [
        "config.yaml",
        "evaluator.py",
        "initial_program.py",
    ]
