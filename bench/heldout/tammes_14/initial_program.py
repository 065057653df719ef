"""Tammes problem, n = 14: points on the unit sphere, as far apart as possible.

points() returns 14 vectors [x, y, z]; the evaluator projects each onto the sphere and scores the
smallest angle between two of them, in degrees (maximised).

The EVOLVE block is the solution itself, a random start (seed 14).
"""


# EVOLVE-BLOCK-START
def points():
    return [
        [0.5878, 0.4668, -0.6608],
        [-0.9296, -0.0488, 0.3653],
        [-0.0947, -0.9424, -0.3207],
        [0.6376, -0.6136, 0.4657],
        [0.5003, 0.4604, 0.7333],
        [-0.2896, -0.0625, 0.9551],
        [-0.2549, -0.2772, -0.9264],
        [-0.3068, 0.4848, 0.8191],
        [0.6012, 0.5865, 0.5428],
        [0.3152, 0.9400, -0.1308],
        [0.5604, -0.0337, -0.8275],
        [-0.9338, -0.1382, -0.3300],
        [-0.8401, -0.5264, 0.1307],
        [0.3195, 0.6692, -0.6709],
    ]


# EVOLVE-BLOCK-END
