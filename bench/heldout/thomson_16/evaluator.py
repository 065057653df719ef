"""Strict evaluator of the Thomson problem for 16 charges (written from the task format alone).

Best known energy: 92.911655302 (the Thomson problem's table of putative global minima, e.g. Wales
and Ulker, Phys. Rev. B 74 (2006), the Cambridge Cluster Database). Any non-zero vector is projected
onto the unit sphere; a zero vector or two coincident charges are errors. The score is minus the
energy, so that higher is better.
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


N = 16
BEST_KNOWN = 92.911655302  # the least energy; the score is its negative


def score_points(points):
    """Minus the Coulomb energy of the points projected onto the unit sphere."""
    unit = []
    for point in points:
        norm = math.sqrt(sum(v * v for v in point))
        if norm < 1e-9:
            raise ValueError("a point is the zero vector")
        unit.append([v / norm for v in point])
    energy = 0.0
    for i in range(N):
        for j in range(i + 1, N):
            distance = math.dist(unit[i], unit[j])
            if distance < 1e-12:
                raise ValueError("two charges coincide")
            energy += 1.0 / distance
    return -energy


def evaluate(program_path):
    score = score_points(read_points(program_path, N, 3))
    return {"combined_score": score, "energy": -score, "share_of_best_known": BEST_KNOWN / -score}
