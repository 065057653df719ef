"""Strict evaluator of 15 equal circles in the unit square (written from the task format alone).

Best known radius: 0.127166547545 (E. Specht's packomania tables of circles in a square, n = 15).
A centre outside [0, 1] x [0, 1] is an error.
"""

import importlib.util
import math


def read_points(program_path, count, dimension):
    """The candidate's points(): exactly ``count`` lists of ``dimension`` finite reals, else an error."""
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    points = module.points()
    if not isinstance(points, list) or len(points) != count:
        raise ValueError(f"points() must return a list of {count} points")
    for point in points:
        if not isinstance(point, list) or len(point) != dimension:
            raise ValueError(f"every point must be a list of {dimension} numbers, got {point!r}")
        for value in point:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"coordinates must be finite real numbers, got {value!r}")
    return [[float(value) for value in point] for point in points]


N = 15
BEST_KNOWN = 0.127166547545


def score_points(points):
    """The largest radius of equal disjoint circles at these centres that stay inside the square."""
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(f"centre ({x}, {y}) is outside the unit square")
    to_sides = min(min(x, 1 - x, y, 1 - y) for x, y in points)
    closest = min(math.dist(points[i], points[j]) for i in range(N) for j in range(i + 1, N))
    return min(to_sides, closest / 2)


def evaluate(program_path):
    radius = score_points(read_points(program_path, N, 2))
    return {"combined_score": radius, "radius": radius, "share_of_best_known": radius / BEST_KNOWN}
