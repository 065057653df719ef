"""Strict verifier for circle packing in the unit square (n = 26).

The candidate's solve() runs in a separate interpreter that hands back plain JSON data, so nothing
the candidate does in its own process (patching math or builtins, redefining a scoring function,
exec into globals, reaching this module through sys.modules) can touch the verification, which
runs here on the returned object only. Rules:

- a list (a tuple or a numpy array of shape (26, 3) arrives as one) of exactly 26 items, each a
  list of three finite real numbers [x, y, r]; bools, strings, complex numbers, NaN, inf and
  |v| > 10 are rejected; r >= 0;
- every circle inside the square: x - r >= -TOL, x + r <= 1 + TOL (same for y);
- every pair disjoint: distance between centres >= r_i + r_j - TOL;
- TOL = 1e-12 absolute. The score is the sum of the radii, computed here with math.fsum.

An infeasible object scores -inf with an artifact naming the violated constraint. A candidate that
crashes or times out fails the evaluation; its output and traceback are passed on as artifacts.
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
FORWARD_CHARS = 4000
MARKER = "\n@@EVOFORGE-RESULT@@"

# Runs in the candidate's interpreter: numpy arrays and scalars become lists and Python numbers;
# anything JSON cannot carry is reported by name rather than guessed at.
DRIVER = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("candidate", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
result = module.solve()
def plain(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not a list or a number")
try:
    payload = json.dumps({"result": result}, default=plain)
except (TypeError, ValueError) as error:
    payload = json.dumps({"unsupported": str(error)})
sys.stdout.write(sys.argv[2] + payload)
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
    """The verifier as a pure function: the sum of radii of a feasible packing, else InvalidPacking."""
    circles = parse_circles(obj)
    check_feasible(circles)
    return math.fsum(r for _, _, r in circles)


def run_candidate(program_path):
    """solve()'s return value as plain JSON data, computed in a separate interpreter."""
    try:
        completed = subprocess.run(
            [sys.executable, "-c", DRIVER, program_path, MARKER],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=SOLVE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"solve() did not return within {SOLVE_TIMEOUT_S} s") from None
    printed, marker, payload = completed.stdout.rpartition(MARKER)
    # Forwarded output becomes the evaluation's stdout/stderr artifacts, shown to the model.
    sys.stdout.write((printed if marker else completed.stdout)[-FORWARD_CHARS:])
    sys.stderr.write(completed.stderr[-FORWARD_CHARS:])
    if completed.returncode != 0 or not marker:
        last = completed.stderr.strip().splitlines()[-1:] or [f"exit code {completed.returncode}"]
        raise RuntimeError(f"the candidate failed: {last[0]}")
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not answer.keys() & {"result", "unsupported"}:
        raise RuntimeError("the candidate's result could not be read (did it print after returning?)")
    if "unsupported" in answer:
        raise InvalidPacking(f"solve() returned data that is not plain numbers: {answer['unsupported']}")
    return answer["result"]


def evaluate(program_path):
    try:
        total = score_packing(run_candidate(program_path))
    except InvalidPacking as error:
        return EvaluationResult({"combined_score": float("-inf"), "valid": 0.0}, {"infeasible": str(error)})
    return {"combined_score": total, "sum_radii": total, "valid": 1.0, "target_ratio": total / BEST_KNOWN}
