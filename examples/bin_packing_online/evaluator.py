"""Online bin packing on Weibull instances: scores a candidate's priority(item, bins) function.

Items arrive one at a time; for each, the candidate's ``priority(item, bins)`` gets the remaining
capacities of the open bins that can hold the item, followed by one empty bin (CAPACITY) standing for
"open a new bin", and returns one number per bin; the item goes into the bin with the highest priority
(the first on a tie). The score is minus the mean excess over the L1 lower bound, -(bins - L1) / L1
with L1 = ceil(Σ items / CAPACITY), over fixed instances, maximised.

Defence against a hostile priority function: it runs in its own interpreter (priority_server.py) and
answers requests over a pipe, one item at a time, so it never sees a future item through this
protocol, never chooses a bin itself and never touches the packing, the capacities or the score, which
all live in this process. Its answers are checked (exactly one finite float per bin, else -inf with the
reason); its prints go to a file, so they cannot forge answers; a crash or stall fails the evaluation.
What this cannot stop: the instances are fixed and their generator public, so a function that counts
its calls could replay them and look ahead. ``holdout_excess_percent`` (an instance from a fresh seed
every evaluation, not part of the score) exposes that kind of overfitting.
"""

import math
import os
import random
import select
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evoforge.verify import FORWARD_CHARS, InvalidObject, infeasible

CAPACITY = 100
SHAPE, SCALE = 3.0, 45.0
ITEMS = 5000
SEEDS = (0, 1, 2, 3, 4)
TIMEOUT_S = 120
SERVER = Path(__file__).with_name("priority_server.py")
HEADER = struct.Struct("<di")
LENGTH = struct.Struct("<i")


def make_instance(seed, size):
    """Integer item sizes: Weibull(shape 3, scale 45) rounded and clipped to [1, CAPACITY]."""
    rng = random.Random(seed)
    return [min(CAPACITY, max(1, round(rng.weibullvariate(SCALE, SHAPE)))) for _ in range(size)]


def l1_bound(items):
    return -(-sum(items) // CAPACITY)


def pack(items, ask):
    """Bins used when each item goes to the bin of highest priority; ``ask(item, bins)`` gives them."""
    remaining = np.empty(len(items), dtype=np.int64)
    opened = 0
    for item in items:
        fits = np.flatnonzero(remaining[:opened] >= item)
        bins = np.append(remaining[fits], CAPACITY).astype(np.float64)
        choice = int(np.argmax(ask(item, bins)))
        if choice == len(fits):
            remaining[opened] = CAPACITY - item
            opened += 1
        else:
            remaining[fits[choice]] -= item
    return opened


class PriorityClient:
    """The candidate's priority function, running in its own interpreter behind two pipes.

    ``output`` is a pair of files that receive the candidate's stdout and stderr.
    """

    def __init__(self, program_path, deadline, output):
        self.deadline = deadline
        self.output = output
        request_read, self.request = os.pipe()
        self.response, response_write = os.pipe()
        command = [sys.executable, str(SERVER), program_path, str(request_read), str(response_write)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output[0],
            stderr=output[1],
            pass_fds=(request_read, response_write),
        )
        os.close(request_read)
        os.close(response_write)

    def _read(self, size):
        data = b""
        while len(data) < size:
            if not select.select([self.response], [], [], max(0.0, self.deadline - time.monotonic()))[0]:
                raise RuntimeError(f"priority() did not finish the packing within {TIMEOUT_S} s")
            chunk = os.read(self.response, size - len(data))
            if not chunk:
                self._failed()
            data += chunk
        return data

    def _failed(self):
        """The candidate's interpreter is gone: fail the evaluation with the last line of its stderr."""
        self.process.wait()
        last = self._tail(1).strip().splitlines()[-1:] or [f"exit code {self.process.returncode}"]
        raise RuntimeError(f"the candidate failed: {last[0]}")

    def __call__(self, item, bins):
        """The validated priorities of ``bins`` for ``item``."""
        request = memoryview(HEADER.pack(item, len(bins)) + bins.tobytes())
        try:
            while request:
                request = request[os.write(self.request, request) :]
        except BrokenPipeError:
            self._failed()
        (count,) = LENGTH.unpack(self._read(LENGTH.size))
        if count != len(bins):
            raise InvalidObject(f"priority(item={item}, bins) returned {count} values for {len(bins)} bins")
        priorities = np.frombuffer(self._read(8 * count), dtype="<f8")
        if not np.isfinite(priorities).all():
            raise InvalidObject(f"priority(item={item}, bins) returned a NaN or infinite value")
        return priorities

    def _tail(self, stream):
        self.output[stream].seek(0, os.SEEK_END)
        self.output[stream].seek(max(0, self.output[stream].tell() - FORWARD_CHARS))
        return self.output[stream].read().decode("utf-8", errors="replace")

    def close(self):
        """Stop the candidate and pass the tail of its output on (the sandbox makes artifacts of it)."""
        os.close(self.request)
        os.close(self.response)
        self.process.kill()
        self.process.wait()
        sys.stdout.write(self._tail(0))
        sys.stderr.write(self._tail(1))


def excess(items, ask):
    """(bins used, L1 bound, relative excess) of one instance."""
    bins, bound = pack(items, ask), l1_bound(items)
    return bins, bound, (bins - bound) / bound


def pack_instances(program_path, instances):
    """(bins used, L1 bound, relative excess) of each instance, packed by the candidate's priority()."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        client = PriorityClient(program_path, time.monotonic() + TIMEOUT_S, (stdout, stderr))
        try:
            return [excess(items, client) for items in instances]
        finally:
            client.close()


def evaluate(program_path):
    holdout_seed = int.from_bytes(os.urandom(8), "little")
    instances = [make_instance(seed, ITEMS) for seed in (*SEEDS, holdout_seed)]
    try:
        *results, holdout = pack_instances(program_path, instances)
    except InvalidObject as error:
        return infeasible(error)
    mean = math.fsum(r[2] for r in results) / len(results)
    return {
        "combined_score": -mean,
        "excess_percent": 100 * mean,
        "bins_used": float(sum(r[0] for r in results)),
        "l1_bound": float(sum(r[1] for r in results)),
        "holdout_excess_percent": 100 * holdout[2],
        "valid": 1.0,
    }
