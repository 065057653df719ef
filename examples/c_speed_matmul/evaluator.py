"""Speed of an evolved C matmul(): compiled with gcc, checked against the starting program, timed.

The candidate's C file is compiled with the system gcc (COMPILE_FLAGS, COMPILE_TIMEOUT_S) and linked
with harness.c; the task's own initial_program.c, built the same way, is the reference. On random
inputs of CHECK_SIZES the candidate's output must equal the reference's byte for byte; then both
binaries run TIMING_RUNS times, interleaved, on TIMED_SIZE, each round on inputs of its own, and each
timed output is checked too. The score is the ratio of the median wall-clock times (reference /
candidate: 2.0 is twice as fast). A compile error, a crash, a stall or a wrong result scores -inf with
an artifact saying which.

The candidate runs as this evaluator's user, so it could rewrite any file the evaluator can and signal
its processes. Hence every run starts from a fresh copy of its binary, written from this process's
memory (the candidate cannot swap the reference for itself or for a slow program), nothing a run
started outlives it (evoforge.verify.run_apart: no daemon slows the next reference run), and every
round draws a fresh seed (no run can replay an answer stored by an earlier one). Times are taken from
outside the process, so a candidate that redefines clock_gettime or the harness's library calls changes
nothing it is scored on. The wall clock includes the process start (about a millisecond) and
multithreading counts as speed.
"""

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from evoforge.verify import InvalidObject, infeasible, run_apart

HERE = Path(__file__).parent
COMPILE_FLAGS = ("-O2", "-std=c11")
COMPILE_TIMEOUT_S = 60
CHECK_SIZES = (1, 2, 3, 7, 16, 33, 100)
TIMED_SIZE = 512
TIMING_RUNS = 5
RUN_TIMEOUT_S = 30
ERROR_CHARS = 1500


def compile_program(source, scratch, name):
    """The bytes of the binary built from harness.c and ``source``; InvalidObject with gcc's messages."""
    binary = Path(scratch, name)
    command = ["gcc", *COMPILE_FLAGS, "-o", str(binary), str(HERE / "harness.c"), str(source)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise InvalidObject(f"the program did not compile within {COMPILE_TIMEOUT_S} s") from None
    except FileNotFoundError:
        raise RuntimeError("gcc not found: this example needs the system C compiler on PATH") from None
    if done.returncode != 0:
        raise InvalidObject(f"the program does not compile:\n{done.stderr[-ERROR_CHARS:]}")
    return binary.read_bytes()


def run(binary, n, seed):
    """(output bytes, wall-clock seconds) of one run of ``binary`` (bytes), from a copy written for
    this run only; InvalidObject on a crash or a stall."""
    with tempfile.TemporaryDirectory() as scratch:
        program = Path(scratch, "program")
        program.write_bytes(binary)
        program.chmod(0o700)
        start = time.perf_counter()
        try:
            done = run_apart([str(program), str(n), str(seed)], RUN_TIMEOUT_S, capture_output=True)
        except subprocess.TimeoutExpired:
            raise InvalidObject(f"matmul() did not return within {RUN_TIMEOUT_S} s for n = {n}") from None
        elapsed = time.perf_counter() - start
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace")[-ERROR_CHARS:]
        raise InvalidObject(f"the program crashed for n = {n} (exit code {done.returncode}) {stderr}".strip())
    return done.stdout, elapsed


def check_output(got, expected, n, seed):
    """Raise InvalidObject naming the first wrong cell of C."""
    if got == expected:
        return
    if len(got) != len(expected):
        raise InvalidObject(f"for n = {n} the program wrote {len(got)} bytes, expected {len(expected)}")
    c, reference = np.frombuffer(got, dtype=np.uint32), np.frombuffer(expected, dtype=np.uint32)
    cell = int(np.flatnonzero(c != reference)[0])
    where = f"C[{cell // n}][{cell % n}]"
    raise InvalidObject(
        f"wrong result for n = {n} (seed {seed}): {where} = {c[cell]}, expected {reference[cell]}"
    )


def fresh_seed():
    return int.from_bytes(os.urandom(8), "little")


def measure(candidate, reference):
    """Check the candidate on every size, then (reference median, candidate median) seconds."""
    seed = fresh_seed()
    for n in CHECK_SIZES:
        check_output(run(candidate, n, seed)[0], run(reference, n, seed)[0], n, seed)
    reference_s, candidate_s = [], []
    for _ in range(TIMING_RUNS):  # interleaved, so that a change of machine load hits both alike
        seed = fresh_seed()
        expected, elapsed = run(reference, TIMED_SIZE, seed)
        reference_s.append(elapsed)
        output, elapsed = run(candidate, TIMED_SIZE, seed)
        candidate_s.append(elapsed)
        check_output(output, expected, TIMED_SIZE, seed)
    return statistics.median(reference_s), statistics.median(candidate_s)


def evaluate(program_path):
    with tempfile.TemporaryDirectory() as scratch:
        try:
            reference = compile_program(HERE / "initial_program.c", scratch, "reference")
            candidate = compile_program(program_path, scratch, "candidate")
        except InvalidObject as error:
            return infeasible(error)
    try:
        reference_s, candidate_s = measure(candidate, reference)
    except InvalidObject as error:
        return infeasible(error)
    return {
        "combined_score": reference_s / candidate_s,
        "speedup": reference_s / candidate_s,
        "time_ms": 1000 * candidate_s,
        "reference_ms": 1000 * reference_s,
        "valid": 1.0,
    }
