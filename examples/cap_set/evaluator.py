"""Strict verifier for cap sets in Z_3^n (n = N = 8 by default).

A cap set holds no three distinct vectors on a line; in Z_3^n, x, y, z are on a line exactly when
x + y + z ≡ 0 (mod 3) coordinate-wise. The candidate runs in its own interpreter
(evoforge.verify.run_solve) and only its returned list counts. Rules:

- a list of vectors, each a list of exactly N exact integers in {0, 1, 2} (no bools, floats or
  strings), no vector listed twice;
- for every pair x != y, the third point of their line, -(x + y) mod 3, is not in the set (it differs
  from x and y whenever x != y, so this covers every line).

Arithmetic is exact (integers). The score is the number of vectors. For other dimensions change N
(n = 4: 20, n = 5: 45, n = 6: 112 are optimal; n = 8: 512 is FunSearch's record).
"""

import numpy as np

from evoforge.verify import InvalidObject, evaluate_solve, integer, sequence

N = 8
BEST_KNOWN = {4: 20, 5: 45, 6: 112, 8: 512}
SOLVE_TIMEOUT_S = 60


def parse_vectors(obj, n):
    """Validate the returned list; return its vectors as tuples."""
    items = sequence(obj, "solve()'s result")
    if len(items) > 3**n:
        raise InvalidObject(f"the set has {len(items)} vectors, Z_3^{n} has only {3**n}")
    vectors = []
    for i, item in enumerate(items):
        values = sequence(item, f"vector {i}", n)
        vector = tuple(integer(v, f"vector {i} coordinate {k}") for k, v in enumerate(values))
        if any(v not in (0, 1, 2) for v in vector):
            raise InvalidObject(f"vector {i} = {list(vector)} has a coordinate outside {{0, 1, 2}}")
        vectors.append(vector)
    if len(set(vectors)) != len(vectors):
        raise InvalidObject("the set lists a vector twice")
    return vectors


def check_no_line(vectors, n):
    """Raise InvalidObject naming three vectors on a line (x + y + z ≡ 0 mod 3)."""
    if len(vectors) < 3:
        return
    points = np.array(vectors, dtype=np.int64)
    powers = 3 ** np.arange(n, dtype=np.int64)
    codes = points @ powers
    index_of = np.full(3**n, -1, dtype=np.int64)
    index_of[codes] = np.arange(len(vectors))
    for i in range(len(vectors) - 1):
        thirds = index_of[((-(points[i] + points[i + 1 :])) % 3) @ powers]
        hits = np.nonzero(thirds >= 0)[0]
        if hits.size:
            j, k = i + 1 + int(hits[0]), int(thirds[hits[0]])
            raise InvalidObject(f"vectors {i}, {j} and {k} lie on a line (x + y + z ≡ 0 mod 3)")


def score_cap_set(obj, n=N):
    """The verifier as a pure function: the size of a valid cap set in Z_3^n, else InvalidObject."""
    vectors = parse_vectors(obj, n)
    check_no_line(vectors, n)
    return len(vectors)


def metrics(size):
    """The size is the score; target_ratio compares it with the record for this N, if there is one."""
    return {"combined_score": float(size), "valid": 1.0, "target_ratio": size / BEST_KNOWN.get(N, size)}


def evaluate(program_path):
    return evaluate_solve(program_path, score_cap_set, metrics, SOLVE_TIMEOUT_S)
