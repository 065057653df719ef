"""Strict verifier for Heilbronn's problem in a triangle, 11 points: the smallest triangle (higher is better).

The domain is the equilateral triangle with vertices (0, 0), (1, 0), (1/2, √3/2), of area √3/4. The
score is the smallest area of a triangle formed by three of the points, divided by √3/4.

Only the object solve() returns from its own interpreter (evoforge.verify.run_solve) is checked:

- 11 points [x, y] of finite reals with |v| <= 10 (evoforge.verify.rows names the point and the
  coordinate of any bool, string, NaN or inf);
- every point inside the triangle: y >= -TOL, y <= √3·x + TOL, y <= √3·(1 - x) + TOL, with
  TOL = 1e-12 absolute (the slanted edges are irrational, so containment needs a tolerance).

The 165 triangle areas are computed exactly with fractions.Fraction (every float is an exact
rational), so a collinear triple scores exactly 0; only the final division by √3/4 is rounded. An
infeasible object scores -inf with an artifact naming the violated rule.
"""

import itertools
import math
from fractions import Fraction

from evoforge.verify import InvalidObject, evaluate_solve, objective, rows

N = 11
TOL = 1e-12
MAX_ABS = 10.0
SQRT3 = math.sqrt(3)
BEST_KNOWN = 0.0365298899
SOLVE_TIMEOUT_S = 60


def parse_points(obj):
    """Validate the shape, types and containment of the returned points; return them as floats."""
    points = rows(obj, N, "point", "xy", MAX_ABS)
    for i, (x, y) in enumerate(points):
        if y < -TOL or y > SQRT3 * x + TOL or y > SQRT3 * (1 - x) + TOL:
            raise InvalidObject(f"point {i} at ({x:g}, {y:g}) lies outside the triangle")
    return points


def smallest_area(points):
    """The smallest triangle area over all triples, exactly."""
    exact = [(Fraction(x), Fraction(y)) for x, y in points]
    return min(
        abs((bx - ax) * (cy - ay) - (cx - ax) * (by - ay)) / 2
        for (ax, ay), (bx, by), (cx, cy) in itertools.combinations(exact, 3)
    )


def normalized_min_area(obj):
    """The verifier as a pure function: smallest triangle area / (√3/4) of 11 valid points."""
    return float(smallest_area(parse_points(obj))) / (SQRT3 / 4)


def evaluate(program_path):
    report = objective("normalized_min_area", BEST_KNOWN)
    return evaluate_solve(program_path, normalized_min_area, report, SOLVE_TIMEOUT_S)
