"""Heilbronn's problem in a triangle: 11 points whose smallest triangle is as large as possible.

solve() returns a list of 11 [x, y] pairs inside the triangle (0, 0), (1, 0), (1/2, √3/2). This
starting point is random points; the best known configuration makes the smallest triangle
0.0365298899 times the area of the domain.
"""

import math
import random


# EVOLVE-BLOCK-START
def solve():
    rng = random.Random(0)
    points = []
    for _ in range(11):
        u, v = rng.random(), rng.random()
        if u + v > 1:
            u, v = 1 - u, 1 - v
        points.append([u + v / 2, v * math.sqrt(3) / 2])
    return points


# EVOLVE-BLOCK-END
