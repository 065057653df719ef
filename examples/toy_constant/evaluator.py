"""Scores solve() by its squared distance to OPTIMUM: -(x - 3.7)², maximised, 0 is perfect.

solve() runs in an interpreter of its own (evoforge.verify.evaluate_solve) and only the number it
returns comes back, as plain data, so nothing the candidate does in its process (rewriting OPTIMUM,
patching math or builtins, a float subclass that lies about its value, writing to evoforge's
descriptors) reaches the score computed here. The number must be a finite real (int or float,
|x| <= 1e6); a bool, a string, NaN or inf scores -inf with the reason as an artifact.
"""

from evoforge.verify import evaluate_solve, real, solve_fingerprint

OPTIMUM = 3.7
SOLVE_TIMEOUT_S = 8  # under evaluation.timeout_s (10 s): a slow solve() is reported as such


def value(result):
    """solve()'s result as a finite float, else InvalidObject saying what it was instead."""
    return real(result, "solve()'s result")


def metrics(x):
    return {"combined_score": -((x - OPTIMUM) ** 2), "value": x}


def evaluate(program_path):
    return evaluate_solve(program_path, value, metrics, SOLVE_TIMEOUT_S)


def fingerprint(program_path):
    """A digest of solve()'s result: the score depends on nothing else (dedup.functional)."""
    return solve_fingerprint(program_path, SOLVE_TIMEOUT_S)
