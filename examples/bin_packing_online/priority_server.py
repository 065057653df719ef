"""Runs in the candidate's interpreter: answers the bin-packing evaluator's priority requests.

Started by evaluator.py as ``python priority_server.py PROGRAM REQUEST_FD RESPONSE_FD``. It imports the
candidate, then for each request (item as float64, bin count as int32, the bins' remaining capacities
as float64) calls ``priority(item, bins)`` and answers with the number of values (int32) and the values
(float64). It never decides where an item goes: the evaluator does, in its own process.
"""

import importlib.util
import os
import struct
import sys

import numpy as np

HEADER = struct.Struct("<di")
LENGTH = struct.Struct("<i")


def read_exact(fd, size):
    """``size`` bytes from ``fd``, or b"" when the evaluator closed the pipe."""
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            return b""
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def serve(priority, request_fd, response_fd):
    while header := read_exact(request_fd, HEADER.size):
        item, count = HEADER.unpack(header)
        bins = np.frombuffer(read_exact(request_fd, 8 * count), dtype="<f8").copy()
        values = np.asarray(priority(item, bins), dtype="<f8").reshape(-1)
        write_all(response_fd, LENGTH.pack(values.size) + values.tobytes())


def main():
    program, request_fd, response_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    spec = importlib.util.spec_from_file_location("candidate", program)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    serve(module.priority, request_fd, response_fd)


if __name__ == "__main__":
    main()
