"""Strict evaluator of the Tammes problem for 12 points (written from the task format alone).

Best known (proven optimal): the vertices of a regular icosahedron, 63.4349488 degrees between
neighbours, arccos(1 / sqrt(5)) (L. Danzer, 1963; Fejes Toth). Any non-zero vector is projected onto the
unit sphere; a zero vector is an error. A validation problem: never used to choose a default.
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


N = 12
BEST_KNOWN = 63.4349488


def score_points(points):
    """The smallest angle between two of the points, in degrees."""
    unit = []
    for point in points:
        norm = math.sqrt(sum(v * v for v in point))
        if norm < 1e-9:
            raise ValueError("a point is the zero vector")
        unit.append([v / norm for v in point])
    largest_cosine = max(
        sum(a * b for a, b in zip(unit[i], unit[j], strict=True)) for i in range(N) for j in range(i + 1, N)
    )
    return math.degrees(math.acos(max(-1.0, min(1.0, largest_cosine))))


def evaluate(program_path):
    angle = score_points(read_points(program_path, N, 3))
    return {"combined_score": angle, "min_angle_deg": angle, "share_of_best_known": angle / BEST_KNOWN}
