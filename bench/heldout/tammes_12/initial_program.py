"""Tammes problem, n = 12: points on the unit sphere, as far apart as possible.

points() returns 12 vectors [x, y, z]; the evaluator projects each onto the sphere and scores the
smallest angle between two of them, in degrees (maximised).

The EVOLVE block is the solution itself, a random start (seed 12).
"""


# EVOLVE-BLOCK-START
def points():
    return [
        [-0.1103, 0.6831, 0.7219],
        [-0.5777, -0.7907, -0.2025],
        [-0.5272, 0.7241, 0.4447],
        [0.5092, 0.2920, 0.8096],
        [-0.7188, -0.1215, -0.6845],
        [0.5979, -0.6497, 0.4695],
        [-0.8639, 0.3796, -0.3310],
        [-0.1594, 0.5722, -0.8045],
        [-0.7268, 0.6867, 0.0148],
        [-0.5262, 0.6267, 0.5747],
        [-0.7205, -0.1428, -0.6786],
        [-0.4642, 0.3007, -0.8331],
    ]


# EVOLVE-BLOCK-END
