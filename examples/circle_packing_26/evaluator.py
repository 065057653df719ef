"""Strict verifier for circle packing in the unit square (n = 26).

The candidate runs in its own subprocess and hands back plain JSON data, so nothing it does in its
own interpreter (patching math, builtins or this module) can touch the verification, which runs
here on the returned object only. Rules:

- exactly 26 items, each a list of three finite real numbers [x, y, r] (bools, strings, NaN, inf,
  |v| > 10 are rejected); r >= 0;
- every circle inside the square: x - r >= -TOL, x + r <= 1 + TOL (same for y);
- every pair disjoint: distance between centres >= r_i + r_j - TOL;
- TOL = 1e-12 absolute. The score is the sum of the radii, computed here with math.fsum.

An infeasible object scores -inf with an artifact naming the violated constraint.
"""

import json
import math
import subprocess
import sys

from evoforge import EvaluationResult

N = 26
TOL = 1e-12
MAX_ABS = 10.0
BEST_KNOWN = 2.6359830849
SOLVE_TIMEOUT_S = 60

DRIVER = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("candidate", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
result = module.solve()
if hasattr(result, "tolist"):
    result = result.tolist()
plain = lambda o: o.tolist() if hasattr(o, "tolist") else repr(o)
sys.stdout.write("\n@@RESULT@@" + json.dumps(result, default=plain))
"""


class InvalidPacking(Exception):
    """The returned object is not a feasible packing; the message names the violated rule."""


def _real(value, where):
    if type(value) not in (int, float):
        raise InvalidPacking(f"{where} is {type(value).__name__}, expected a real number")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidPacking(f"{where} is out of range") from None
    if not math.isfinite(number):
        raise InvalidPacking(f"{where} is {number}, expected a finite number")
    if abs(number) > MAX_ABS:
        raise InvalidPacking(f"{where} = {number:g} is out of range")
    return number


def parse_circles(obj):
    """Validate the shape and types of the returned object; return a list of (x, y, r) floats."""
    if not isinstance(obj, list):
        raise InvalidPacking(f"solve() returned {type(obj).__name__}, expected a list of {N} [x, y, r]")
    if len(obj) != N:
        raise InvalidPacking(f"expected {N} circles, got {len(obj)}")
    circles = []
    for i, item in enumerate(obj):
        if not isinstance(item, list) or len(item) != 3:
            raise InvalidPacking(f"circle {i} is not a list [x, y, r]")
        circles.append(tuple(_real(v, f"circle {i} {name}") for v, name in zip(item, "xyr", strict=True)))
    return circles


def check_feasible(circles):
    """Raise InvalidPacking naming the first violated constraint."""
    for i, (x, y, r) in enumerate(circles):
        if r < 0:
            raise InvalidPacking(f"circle {i} has a negative radius {r:g}")
        if x - r < -TOL or x + r > 1 + TOL or y - r < -TOL or y + r > 1 + TOL:
            raise InvalidPacking(f"circle {i} at ({x:g}, {y:g}) with radius {r:g} leaves the unit square")
    for i in range(len(circles)):
        xi, yi, ri = circles[i]
        for j in range(i + 1, len(circles)):
            xj, yj, rj = circles[j]
            gap = math.hypot(xi - xj, yi - yj) - (ri + rj)
            if gap < -TOL:
                raise InvalidPacking(f"circles {i} and {j} overlap by {-gap:.3g}")


def score_packing(obj):
    """Sum of radii of a feasible packing (raises InvalidPacking otherwise)."""
    circles = parse_circles(obj)
    check_feasible(circles)
    return math.fsum(r for _, _, r in circles)


def run_candidate(program_path):
    """solve()'s return value as plain JSON data, from a separate interpreter."""
    completed = subprocess.run(
        [sys.executable, "-c", DRIVER, program_path],
        capture_output=True,
        text=True,
        timeout=SOLVE_TIMEOUT_S,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"solve() failed: {completed.stderr.strip().splitlines()[-1:] or completed.returncode}"
        )
    marker = completed.stdout.rfind("\n@@RESULT@@")
    if marker < 0:
        raise RuntimeError("solve() returned no result")
    return json.loads(completed.stdout[marker + len("\n@@RESULT@@") :])


def evaluate(program_path):
    obj = run_candidate(program_path)
    try:
        total = score_packing(obj)
    except InvalidPacking as error:
        return EvaluationResult({"combined_score": float("-inf"), "valid": 0.0}, {"infeasible": str(error)})
    return {"combined_score": total, "sum_radii": total, "valid": 1.0, "target_ratio": total / BEST_KNOWN}
