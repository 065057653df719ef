"""Speed of an evolved C matmul(): compiled with gcc, checked against the starting program, timed.

The candidate's C file is compiled with the system gcc (COMPILE_FLAGS, COMPILE_TIMEOUT_S) and linked
with harness.c; the task's own initial_program.c, built the same way, is the reference. On random
inputs (a fresh seed each evaluation) of CHECK_SIZES and TIMED_SIZE the candidate's output must equal
the reference's byte for byte; then both binaries run TIMING_RUNS times, interleaved, on TIMED_SIZE,
and the score is the ratio of their median wall-clock times (reference / candidate: 2.0 is twice as
fast). A compile error, a crash, a stall or a wrong result scores -inf with an artifact saying which.

Times are taken from outside the process, so a candidate that redefines clock_gettime or the harness's
library calls changes nothing it is scored on; its output is judged against a binary built without any
candidate code. The wall clock includes the process start (about a millisecond) and multithreading
counts as speed.
"""

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from evoforge.verify import InvalidObject, infeasible

HERE = Path(__file__).parent
COMPILE_FLAGS = ("-O2", "-std=c11")
COMPILE_TIMEOUT_S = 60
CHECK_SIZES = (1, 2, 3, 7, 16, 33, 100)
TIMED_SIZE = 512
TIMING_RUNS = 5
RUN_TIMEOUT_S = 30
ERROR_CHARS = 1500


def compile_program(source, binary):
    """Build ``binary`` from harness.c and ``source``; InvalidObject with gcc's messages on failure."""
    command = ["gcc", *COMPILE_FLAGS, "-o", str(binary), str(HERE / "harness.c"), str(source)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise InvalidObject(f"the program did not compile within {COMPILE_TIMEOUT_S} s") from None
    except FileNotFoundError:
        raise RuntimeError("gcc not found: this example needs the system C compiler on PATH") from None
    if done.returncode != 0:
        raise InvalidObject(f"the program does not compile:\n{done.stderr[-ERROR_CHARS:]}")


def run(binary, n, seed):
    """(output bytes, wall-clock seconds) of one run; InvalidObject on a crash or a stall."""
    start = time.perf_counter()
    try:
        done = subprocess.run([str(binary), str(n), str(seed)], capture_output=True, timeout=RUN_TIMEOUT_S)
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


def measure(candidate, reference, seed):
    """Check the candidate on every size, then (reference median, candidate median) seconds."""
    for n in (*CHECK_SIZES, TIMED_SIZE):
        check_output(run(candidate, n, seed)[0], run(reference, n, seed)[0], n, seed)
    times = {candidate: [], reference: []}
    for _ in range(TIMING_RUNS):
        for binary in (reference, candidate):
            times[binary].append(run(binary, TIMED_SIZE, seed)[1])
    return statistics.median(times[reference]), statistics.median(times[candidate])


def evaluate(program_path):
    seed = int.from_bytes(os.urandom(8), "little")
    with tempfile.TemporaryDirectory() as scratch:
        candidate, reference = Path(scratch, "candidate"), Path(scratch, "reference")
        try:
            compile_program(HERE / "initial_program.c", reference)
            compile_program(program_path, candidate)
            reference_s, candidate_s = measure(candidate, reference, seed)
        except InvalidObject as error:
            return infeasible(error)
    return {
        "combined_score": reference_s / candidate_s,
        "speedup": reference_s / candidate_s,
        "time_ms": 1000 * candidate_s,
        "reference_ms": 1000 * reference_s,
        "valid": 1.0,
    }
