"""15 equal circles in the unit square, as large as possible.

points() returns the 15 centres [x, y] in the unit square; the score is the largest common radius
those centres allow: half the smallest distance between two centres, or the smallest distance from a
centre to a side, whichever is less (maximised).

The EVOLVE block is the solution itself, a random start (seed 15).
"""


# EVOLVE-BLOCK-START
def points():
    return [
        [0.9187, 0.0605],
        [0.7124, 0.1922],
        [0.9377, 0.0652],
        [0.8415, 0.6632],
        [0.8216, 0.9498],
        [0.2657, 0.3543],
        [0.6874, 0.3025],
        [0.2870, 0.2557],
        [0.8221, 0.8371],
        [0.7679, 0.2511],
        [0.8824, 0.5102],
        [0.2582, 0.4600],
        [0.4279, 0.1211],
        [0.5582, 0.3740],
        [0.5627, 0.8872],
    ]


# EVOLVE-BLOCK-END
