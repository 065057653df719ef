"""Circle packing: 32 disjoint circles in the unit square, maximising the sum of their radii.

solve() returns a list of 32 [x, y, r] triples. This starting point is a plain grid of equal
circles (sum of radii 2.56); the best known packing reaches 2.9395727712.
"""


# EVOLVE-BLOCK-START
def solve():
    columns, rows = 6, 6
    radius = 0.08
    circles = []
    for row in range(rows):
        for column in range(columns):
            if len(circles) < 32:
                x = (column + 0.5) / columns
                y = (row + 0.5) / rows
                circles.append([x, y, radius])
    return circles


# EVOLVE-BLOCK-END
