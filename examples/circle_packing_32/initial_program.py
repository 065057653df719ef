"""Circle packing: 32 disjoint circles in the unit square, maximising the sum of their radii.

solve() returns a list of 32 [x, y, r] triples. This starting point is six staggered rows of equal
circles, 6 and 5 in turn (sum of radii 2.56); the best known packing reaches 2.9395727712.
"""


# EVOLVE-BLOCK-START
def solve():
    radius = 0.08
    centres = [
        ((column + 0.5 + row % 2 / 2) / 6, (row + 0.5) / 6)
        for row in range(6)
        for column in range(6 - row % 2)
    ]
    return [[x, y, radius] for x, y in centres[:32]]


# EVOLVE-BLOCK-END
