"""Strict evaluator of Heilbronn's problem for 10 points in the unit square (from the task format alone).

Best known: 0.046537 (Comellas and Yebra, "New lower bounds for Heilbronn numbers", Electronic
Journal of Combinatorics 9 (2002)). A point outside [0, 1] x [0, 1] is an error.
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


N = 10
BEST_KNOWN = 0.046537


def score_points(points):
    """The smallest area of a triangle formed by three of the points."""
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(f"point ({x}, {y}) is outside the unit square")
    smallest = math.inf
    for i in range(N):
        (xi, yi) = points[i]
        for j in range(i + 1, N):
            (xj, yj) = points[j]
            for k in range(j + 1, N):
                (xk, yk) = points[k]
                area = abs((xj - xi) * (yk - yi) - (xk - xi) * (yj - yi)) / 2
                smallest = min(smallest, area)
    return smallest


def evaluate(program_path):
    area = score_points(read_points(program_path, N, 2))
    return {"combined_score": area, "min_area": area, "share_of_best_known": area / BEST_KNOWN}
