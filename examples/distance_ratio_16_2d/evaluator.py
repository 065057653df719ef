"""Strict verifier for the distance ratio problem: 16 points, (max dist / min dist)² (lower is better).

The candidate's solve() runs in a separate interpreter (evoforge.verify.run_solve) that hands back
plain JSON data; nothing the candidate computes, prints or patches in its own process counts.
Rules, checked here on the returned object only:

- a list (a tuple or a numpy array of shape (16, 2) arrives as one) of exactly 16 items, each a list
  of two finite real numbers [x, y]; bools, strings, complex numbers, NaN, inf and |v| > 1e6 are
  rejected;
- the points are pairwise distinct.

Every float is an exact rational, so the squared distances and their ratio are computed exactly with
fractions.Fraction and rounded once at the end: no tolerance, and no tiny or denormal coordinate can
round a distance to zero. An infeasible object scores -inf with an artifact naming the violated rule.
combined_score is the negated ratio (evoforge maximises); the ratio itself is reported as
ratio_squared.
"""

import itertools
from fractions import Fraction

from evoforge.verify import InvalidObject, evaluate_solve, objective, rows

N = 16
MAX_ABS = 1e6
BEST_KNOWN = 12.889266112
SOLVE_TIMEOUT_S = 60


def ratio_squared(obj):
    """The verifier as a pure function: (max dist / min dist)² of 16 distinct points, else InvalidObject."""
    points = [(Fraction(x), Fraction(y)) for x, y in rows(obj, N, "point", "xy", MAX_ABS)]
    squared = {}
    for (i, (xi, yi)), (j, (xj, yj)) in itertools.combinations(enumerate(points), 2):
        squared[i, j] = (xi - xj) ** 2 + (yi - yj) ** 2
    i, j = min(squared, key=squared.get)
    if squared[i, j] == 0:
        raise InvalidObject(f"points {i} and {j} coincide: the points must be distinct")
    try:
        return float(max(squared.values()) / squared[i, j])
    except OverflowError:
        raise InvalidObject(f"points {i} and {j} are so close that the ratio overflows") from None


def evaluate(program_path):
    report = objective("ratio_squared", BEST_KNOWN, minimise=True)
    return evaluate_solve(program_path, ratio_squared, report, SOLVE_TIMEOUT_S)
