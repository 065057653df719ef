"""Scores solve() by its squared distance to 3.7 (maximised, 0 is perfect)."""

import importlib.util
import math

OPTIMUM = 3.7


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    value = module.solve()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"solve() must return a finite real number, got {value!r:.60}")
    return {"combined_score": -((value - OPTIMUM) ** 2), "value": float(value)}
