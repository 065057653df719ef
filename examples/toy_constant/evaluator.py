"""Scores solve() by its squared distance to OPTIMUM: -(x - 3.7)², maximised, 0 is perfect.

evoforge runs this in a sandboxed child process; the candidate is imported from program_path as
its own module. The returned value must be a finite real number (bool, str, complex, NaN and inf
are rejected, and the evaluation fails with the reason).
"""

import importlib.util
import math

OPTIMUM = 3.7


def load_candidate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_real(value):
    """``value`` as a finite float, or a TypeError saying what solve() returned instead."""
    if not isinstance(value, bool) and isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    raise TypeError(f"solve() must return a finite real number, got {value!r:.60}")


def evaluate(program_path):
    x = as_real(load_candidate(program_path).solve())
    return {"combined_score": -((x - OPTIMUM) ** 2), "value": x}
