"""Kissing configuration in dimension 11, as a set of integer points.

solve() returns a list of points, each a list of 11 ints, none the origin, such that every two points
are at squared distance at least the largest squared norm. This starting point is the root system D11:
all vectors with two coordinates ±1 and the rest 0 (220 points); the best known is 593 (AlphaEvolve).
"""

import itertools

D = 11


# EVOLVE-BLOCK-START
def solve():
    points = []
    for i, j in itertools.combinations(range(D), 2):
        for a, b in itertools.product((1, -1), repeat=2):
            point = [0] * D
            point[i], point[j] = a, b
            points.append(point)
    return points


# EVOLVE-BLOCK-END
