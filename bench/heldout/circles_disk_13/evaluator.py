"""Strict evaluator of 13 equal circles in the unit disk (written from the task format alone).

Best known (proven optimal, F. Fodor, "The densest packing of 13 congruent circles in a circle",
Beiträge zur Algebra und Geometrie 44 (2003)): the container's radius is 2 + sqrt(5) times the
circles', so r = 1 / (2 + sqrt(5)) = 0.2360679775 in the unit disk. A centre outside the disk is an
error. Held out: the offline mutators' defaults were chosen on the other problems of bench/heldout/.
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


N = 13
BEST_KNOWN = 1 / (2 + math.sqrt(5))


def score_points(points):
    """The largest radius of equal disjoint circles at these centres that stay inside the unit disk."""
    to_boundary = math.inf
    for x, y in points:
        distance = math.hypot(x, y)
        if distance > 1.0:
            raise ValueError(f"centre ({x}, {y}) is outside the unit disk")
        to_boundary = min(to_boundary, 1.0 - distance)
    closest = min(math.dist(points[i], points[j]) for i in range(N) for j in range(i + 1, N))
    return min(to_boundary, closest / 2)


def evaluate(program_path):
    radius = score_points(read_points(program_path, N, 2))
    return {"combined_score": radius, "radius": radius, "share_of_best_known": radius / BEST_KNOWN}
