"""13 equal circles in the unit disk, as large as possible.

points() returns the 13 centres [x, y] in the unit disk; the score is the largest common radius those
centres allow: half the smallest distance between two centres, or the smallest distance from a centre
to the boundary circle, whichever is less (maximised).

The EVOLVE block is the solution itself, a random start (seed 13).
"""


# EVOLVE-BLOCK-START
def points():
    return [
        [-0.4820, 0.3705],
        [0.3682, 0.6987],
        [-0.6286, -0.5389],
        [-0.7057, -0.5497],
        [0.4680, -0.7396],
        [0.0626, -0.5722],
        [-0.4107, -0.1368],
        [0.6753, 0.2168],
        [0.6195, 0.6121],
        [0.6527, 0.4895],
        [-0.4866, 0.6999],
        [-0.0264, 0.5100],
        [0.1283, -0.1408],
    ]


# EVOLVE-BLOCK-END
