"""Heilbronn problem in the unit square, n = 10.

points() returns 10 points [x, y] in the unit square; the score is the smallest area of a triangle
formed by three of them (maximised).

The EVOLVE block is the solution itself, a random start (seed 10).
"""


# EVOLVE-BLOCK-START
def points():
    return [
        [0.5643, 0.4360],
        [0.5703, 0.2355],
        [0.7820, 0.7912],
        [0.6381, 0.1942],
        [0.5186, 0.3450],
        [0.2750, 0.9075],
        [0.9469, 0.0901],
        [0.8241, 0.5929],
        [0.3934, 0.3053],
        [0.6575, 0.4611],
    ]


# EVOLVE-BLOCK-END
