"""Strict verifier for circle packing in the unit square (n = 32).

The candidate's solve() runs in a separate interpreter (evoforge.verify.run_solve) that hands back
plain JSON data, so nothing the candidate does in its own process (patching math or builtins,
redefining a scoring function, exec into globals) can touch the verification, which runs here on
the returned object only. Rules:

- a list (a tuple or a numpy array of shape (32, 3) arrives as one) of exactly 32 items, each a
  list of three finite real numbers [x, y, r]; bools, strings, complex numbers, NaN, inf and
  |v| > 10 are rejected; r >= 0;
- every circle inside the square: x - r >= -TOL, x + r <= 1 + TOL (same for y);
- every pair disjoint: distance between centres >= r_i + r_j - TOL;
- TOL = 1e-12 absolute. The score is the sum of the radii, computed here with math.fsum.

An infeasible object scores -inf with an artifact naming the violated constraint. A candidate that
crashes or times out fails the evaluation; its output and traceback are passed on as artifacts.
"""

import itertools
import math

from evoforge.verify import InvalidObject, infeasible, real, run_solve, sequence

N = 32
TOL = 1e-12
MAX_ABS = 10.0
BEST_KNOWN = 2.9395727712
SOLVE_TIMEOUT_S = 60


def parse_circles(obj):
    """Validate the shape and types of the returned object; return a list of (x, y, r) floats."""
    circles = []
    for i, item in enumerate(sequence(obj, "solve()'s result", N)):
        values = sequence(item, f"circle {i} [x, y, r]", 3)
        circles.append(
            tuple(real(v, f"circle {i} {name}", MAX_ABS) for v, name in zip(values, "xyr", strict=True))
        )
    return circles


def check_feasible(circles):
    """Raise InvalidObject naming the first violated constraint."""
    for i, (x, y, r) in enumerate(circles):
        if r < 0:
            raise InvalidObject(f"circle {i} has a negative radius {r:g}")
        if min(x - r, y - r) < -TOL or max(x + r, y + r) > 1 + TOL:
            raise InvalidObject(f"circle {i} at ({x:g}, {y:g}) with radius {r:g} leaves the unit square")
    for (i, (xi, yi, ri)), (j, (xj, yj, rj)) in itertools.combinations(enumerate(circles), 2):
        gap = math.hypot(xi - xj, yi - yj) - (ri + rj)
        if gap < -TOL:
            raise InvalidObject(f"circles {i} and {j} overlap by {-gap:.3g}")


def score_packing(obj):
    """The verifier as a pure function: the sum of radii of a feasible packing, else InvalidObject."""
    circles = parse_circles(obj)
    check_feasible(circles)
    return math.fsum(r for _, _, r in circles)


def evaluate(program_path):
    try:
        total = score_packing(run_solve(program_path, SOLVE_TIMEOUT_S))
    except InvalidObject as error:
        return infeasible(error)
    return {"combined_score": total, "sum_radii": total, "valid": 1.0, "target_ratio": total / BEST_KNOWN}
