"""Distance ratio: 16 distinct points in the plane with a small (max distance / min distance)².

solve() returns a list of 16 [x, y] pairs. This starting point is the 4 × 4 unit grid (ratio
exactly 18); the best known configuration reaches 12.889266112.
"""


# EVOLVE-BLOCK-START
def solve():
    return [[float(column), float(row)] for row in range(4) for column in range(4)]


# EVOLVE-BLOCK-END
