"""Strict verifier for kissing configurations in dimension D = 11, given as integer points.

A finite set C of nonzero integer points with min_{x != y} |x - y|² >= max_x |x|² yields |C| unit
spheres touching a central one without overlapping (scale each x to norm 2: the angle between any two
is then at least 60 degrees). The candidate runs in its own interpreter
(evoforge.verify.run_solve) and only its returned list counts. Rules:

- a list of at most MAX_POINTS points, each a list of exactly D exact integers (no bools, floats or
  strings; arbitrarily large ints are welcome, up to |v| <= MAX_ABS);
- no point is the origin;
- every pair x != y (a repeated point is a pair at distance 0) has |x - y|² >= max |x|².

All arithmetic is exact (Python integers). The score is |C|.
"""

from evoforge.verify import InvalidObject, evaluate_solve, integer, sequence

D = 11
MAX_ABS = 10**100
MAX_POINTS = 2000
BEST_KNOWN = {3: 12, 4: 24, 5: 40, 11: 593}
SOLVE_TIMEOUT_S = 60


def parse_points(obj, d):
    """Validate the returned list; return its points as tuples of ints."""
    items = sequence(obj, "solve()'s result")
    if len(items) > MAX_POINTS:
        raise InvalidObject(f"the set has {len(items)} points, at most {MAX_POINTS} are verified")
    points = []
    for i, item in enumerate(items):
        values = sequence(item, f"point {i}", d)
        points.append(tuple(integer(v, f"point {i} coordinate {k}", MAX_ABS) for k, v in enumerate(values)))
    return points


def check_kissing(points):
    """Raise InvalidObject naming the origin or the closest violating pair."""
    norms = [sum(v * v for v in point) for point in points]
    for i, norm in enumerate(norms):
        if norm == 0:
            raise InvalidObject(f"point {i} is the origin")
    largest = max(norms, default=0)
    for i, x in enumerate(points):
        for j in range(i + 1, len(points)):
            distance = norms[i] + norms[j] - 2 * sum(map(int.__mul__, x, points[j]))
            if distance < largest:
                raise InvalidObject(
                    f"points {i} and {j} are too close: |x - y|² = {distance} < max |x|² = {largest}"
                )


def score_points(obj, d=D):
    """The verifier as a pure function: |C| for a valid configuration in dimension d, else InvalidObject."""
    points = parse_points(obj, d)
    check_kissing(points)
    return len(points)


def metrics(size):
    """|C| is the score; target_ratio compares it with the best known kissing number in dimension D."""
    return {"combined_score": float(size), "valid": 1.0, "target_ratio": size / BEST_KNOWN.get(D, size)}


def evaluate(program_path):
    return evaluate_solve(program_path, score_points, metrics, SOLVE_TIMEOUT_S)
